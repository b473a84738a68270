// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxBody bounds every request body.
const maxBody = 64 << 10

func requireType(r *http.Request, want string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: codeMediaType,
			Msg: "Content-Type must be " + want}
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
			Msg: fmt.Sprintf("body larger than %d bytes", maxBody)}
	}
	if err != nil {
		return nil, errBadRequest("cannot read body")
	}
	return b, nil
}

// decodeJSON reads one JSON object into v: bounded size, no unknown fields,
// nothing after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := requireType(r, "application/json"); err != nil {
		return err
	}
	return decodeBody(w, r, v)
}

// decodeBody is decodeJSON after the Content-Type check.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("malformed JSON: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("malformed JSON: data after the object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errBadRequest("malformed JSON: data after the object")
	}
	return nil
}

// decodeForm parses an application/x-www-form-urlencoded body. Parameters
// may appear once (RFC 6749 §3.2); query parameters are ignored.
func decodeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if err := requireType(r, "application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errBadRequest("malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, errBadRequest("parameter " + k + " repeated")
		}
	}
	return form, nil
}

// required takes name, value pairs and reports the first empty value.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return errBadRequest("missing required field " + pairs[i])
		}
	}
	return nil
}
