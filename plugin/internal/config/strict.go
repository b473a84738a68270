// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/credgate/credgate/plugin/internal/textf"
)

// maxDepth bounds the nesting of the configuration document; a real one is
// at most six levels deep.
const maxDepth = 32

// checkJSON reads the document before the parser looks at it, and refuses:
//
//   - a syntax error, naming its line and column (syntaxError follows
//     encoding/json's grammar, which the module does not link);
//   - a key given twice in one object (gjson would silently take the
//     first; in an authentication policy the second may be the one the
//     operator meant), naming the key's JSON path and both positions;
//   - nesting deeper than maxDepth.
//
// Keys are compared decoded, so "rout\u0065s" and "routes" are one key.
func checkJSON(data []byte) error {
	if at, why := syntaxError(data); why != "" {
		return errAt("", "configuration is not valid JSON: %s: %s", position(data, at), why)
	}
	return duplicates(data, "", gjson.ParseBytes(data), 0)
}

// duplicates walks a valid document with gjson (which the parser uses
// anyway) and refuses a key given twice in one object, and nesting deeper
// than maxDepth.
func duplicates(data []byte, path string, v gjson.Result, depth int) error {
	if !v.IsObject() && !v.IsArray() {
		return nil
	}
	if depth >= maxDepth {
		return errAt(path, "configuration is nested deeper than %d levels", maxDepth)
	}
	var err error
	if v.IsArray() {
		i := 0
		v.ForEach(func(_, e gjson.Result) bool {
			err = duplicates(data, textf.Sprintf("%s[%d]", path, i), e, depth+1)
			i++
			return err == nil
		})
		return err
	}
	seen := map[string]int{}
	v.ForEach(func(k, e gjson.Result) bool {
		key := k.String()
		kp := key
		if path != "" {
			kp = path + "." + key
		}
		if first, dup := seen[key]; dup {
			err = errAt(kp, "key given twice in one object (%s and %s): remove one", position(data, first), position(data, k.Index))
			return false
		}
		seen[key] = k.Index
		err = duplicates(data, kp, e, depth+1)
		return err == nil
	})
	return err
}

// position describes a byte offset as "line L, column C" (both from 1;
// columns count characters).
func position(data []byte, off int) string {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
}
