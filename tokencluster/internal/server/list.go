// SPDX-License-Identifier: Apache-2.0

package server

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/credgate/credgate/tokencluster/internal/registry"
)

// listQuery holds the Znode list parameters:
//
//	page=index~0,size~25      0-based page index, page size 1..1000
//	sort=name~asc|desc        one field, case-insensitive
//	filter=name~cn~pea[,...]  field~op~value, all must match; ops eq, ne, cn, sw, ew (case-insensitive)
//	indent=true               human-readable JSON
type listQuery struct {
	index, size int
	sortField   string
	desc        bool
	filters     []listFilter
	indent      bool
}

type listFilter struct{ field, op, value string }

// listResponse is a page of records with the Znode paging fields.
type listResponse struct {
	Items        []registry.View `json:"Items"`
	PageIndex    int             `json:"PageIndex"`
	PageSize     int             `json:"PageSize"`
	TotalPages   int             `json:"TotalPages"`
	TotalResults int             `json:"TotalResults"`
}

var listFields = map[string]func(v registry.View) string{
	"id":           func(v registry.View) string { return v.ID },
	"name":         func(v registry.View) string { return v.Name },
	"tenant":       func(v registry.View) string { return v.Tenant },
	"username":     func(v registry.View) string { return v.Username },
	"domain":       func(v registry.View) string { return v.Domain },
	"email":        func(v registry.View) string { return v.Email },
	"developer_id": func(v registry.View) string { return v.DeveloperID },
	"created_at":   func(v registry.View) string { return v.CreatedAt },
	"updated_at":   func(v registry.View) string { return v.UpdatedAt },
	"revoked":      func(v registry.View) string { return strconv.FormatBool(v.Revoked) },
}

var listOps = map[string]func(have, want string) bool{
	"eq": strings.EqualFold,
	"ne": func(h, w string) bool { return !strings.EqualFold(h, w) },
	"cn": func(h, w string) bool { return strings.Contains(strings.ToLower(h), strings.ToLower(w)) },
	"sw": func(h, w string) bool { return strings.HasPrefix(strings.ToLower(h), strings.ToLower(w)) },
	"ew": func(h, w string) bool { return strings.HasSuffix(strings.ToLower(h), strings.ToLower(w)) },
}

func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{size: 25, sortField: "id", indent: q.Get("indent") == "true"}
	if p := q.Get("page"); p != "" {
		for _, part := range strings.Split(p, ",") {
			k, v, _ := strings.Cut(part, "~")
			n, err := strconv.Atoi(v)
			switch {
			case k == "index" && err == nil && n >= 0:
				lq.index = n
			case k == "size" && err == nil && n >= 1 && n <= 1000:
				lq.size = n
			default:
				return lq, errBadRequest("page must look like index~0,size~25 (size 1..1000)")
			}
		}
	}
	if sp := q.Get("sort"); sp != "" {
		f, dir, _ := strings.Cut(sp, "~")
		if _, ok := listFields[f]; !ok || (dir != "" && dir != "asc" && dir != "desc") {
			return lq, errBadRequest("sort must look like name~asc or name~desc on a known field")
		}
		lq.sortField, lq.desc = f, dir == "desc"
	}
	if fp := q.Get("filter"); fp != "" {
		for _, part := range strings.Split(fp, ",") {
			parts := strings.SplitN(part, "~", 3)
			if len(parts) != 3 || listFields[parts[0]] == nil || listOps[parts[1]] == nil {
				return lq, errBadRequest("filter must look like name~cn~value; ops eq, ne, cn, sw, ew")
			}
			lq.filters = append(lq.filters, listFilter{field: parts[0], op: parts[1], value: parts[2]})
		}
	}
	return lq, nil
}

// apply filters, sorts and pages views.
func (lq listQuery) apply(views []registry.View) listResponse {
	kept := views[:0]
	for _, v := range views {
		if lq.matches(v) {
			kept = append(kept, v)
		}
	}
	get := listFields[lq.sortField]
	slices.SortStableFunc(kept, func(a, b registry.View) int {
		c := cmp.Or(cmp.Compare(strings.ToLower(get(a)), strings.ToLower(get(b))), cmp.Compare(a.ID, b.ID))
		if lq.desc {
			return -c
		}
		return c
	})
	total := len(kept)
	start := min(lq.index*lq.size, total)
	end := min(start+lq.size, total)
	return listResponse{Items: append([]registry.View{}, kept[start:end]...), PageIndex: lq.index, PageSize: lq.size,
		TotalPages: (total + lq.size - 1) / lq.size, TotalResults: total}
}

func (lq listQuery) matches(v registry.View) bool {
	for _, f := range lq.filters {
		if !listOps[f.op](listFields[f.field](v), f.value) {
			return false
		}
	}
	return true
}
