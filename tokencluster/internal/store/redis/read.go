// SPDX-License-Identifier: Apache-2.0

package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/credgate/credgate/tokencluster/internal/store"
)

var (
	_ store.Reader      = (*Store)(nil)
	_ store.OwnedLookup = (*Store)(nil)
)

// readScript reads what one verification needs (a store.Read) in one step:
// the token, consumed when it is live and of the kind to consume, the
// record that owns it, the records asked for, and then the tenant of every
// record read and the developer of records of the developer collection, in
// the order store.Read.Follow reads them. It only follows ids: the caller
// checks everything. It reads records only of the collections it is given
// (their hashes are its keys): on a Redis Cluster, one collection, or
// only the token, so that it touches one slot.
//
// KEYS: the token (when ARGV[6] is "1"), then the record hash and the key
// hash of each collection. ARGV: now (unix seconds), the kind to consume
// ("" none), the developer collection ("" none), the name of the tenants
// and of the developers collection, "1" when a token is read, the number of
// collections and their names, the number of owners and (kind, collection,
// field) of each, the number of records asked for and (collection, id,
// lookup key) of each.
//
// Reply: {token status, token JSON, then per record read: collection, id
// asked, key asked, id found, record JSON}. The status is "none" (no token
// asked), "absent", "read", "consumed" (already) or "consumed now"; a
// consumption appends "consumed":true to the JSON (the last key wins when
// decoded) and keeps the TTL.
var readScript = goredis.NewScript(`
local now, consume, devOf, tenants, developers = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local hasTok = ARGV[6] == '1'
local i, k = 7, 1
if hasTok then k = 2 end
local recs, idx = {}, {}
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  recs[ARGV[i]], idx[ARGV[i]] = KEYS[k], KEYS[k + 1]
  i, k = i + 1, k + 2
end
local owners = {}
n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  if not owners[ARGV[i]] then owners[ARGV[i]] = {ARGV[i + 1], ARGV[i + 2]} end
  i = i + 3
end
local queue, seen = {}, {}
local function push(c, id, key)
  local s = c .. '\0' .. id .. '\0' .. key
  if not seen[s] then
    seen[s] = true
    queue[#queue + 1] = {c, id, key}
  end
end
local status, tokv = 'none', false
if hasTok then
  tokv = redis.call('GET', KEYS[1])
  status = 'absent'
  if tokv then
    status = 'read'
    local ok, tok = pcall(cjson.decode, tokv)
    if ok and type(tok) == 'table' and type(tok.exp) == 'number' and tok.exp > now then
      if consume ~= '' and tok.kind == consume then
        if tok.consumed == true then
          status = 'consumed'
        elseif string.sub(tokv, -1) == '}' then
          redis.call('SET', KEYS[1], string.sub(tokv, 1, -2) .. ',"consumed":true}', 'KEEPTTL')
          status = 'consumed now'
        end
      end
      local o = owners[tok.kind]
      if status ~= 'consumed' and o and type(tok[o[2]]) == 'string' and tok[o[2]] ~= '' then
        push(o[1], tok[o[2]], '')
      end
    end
  end
end
n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  push(ARGV[i], ARGV[i + 1], ARGV[i + 2])
  i = i + 3
end
local out = {status, tokv}
local q, answered = 1, 0
while q <= #queue and answered < 16 do
  local c, id, key = queue[q][1], queue[q][2], queue[q][3]
  q = q + 1
  if recs[c] then
    local found, v = id, false
    if id == '' then
      found = redis.call('HGET', idx[c], key)
      if found then v = redis.call('HGET', recs[c], found) else found = '' end
    else
      v = redis.call('HGET', recs[c], id)
    end
    local b = #out
    out[b + 1] = c
    out[b + 2] = id
    out[b + 3] = key
    out[b + 4] = found
    out[b + 5] = v
    answered = answered + 1
    if v then
      if id == '' then seen[c .. '\0' .. found .. '\0'] = true end
      local ok, rec = pcall(cjson.decode, v)
      if ok and type(rec) == 'table' then
        if type(rec.tenant) == 'string' and rec.tenant ~= '' then push(tenants, rec.tenant, '') end
        if c == devOf and type(rec.developer_id) == 'string' and rec.developer_id ~= '' then
          push(developers, rec.developer_id, '')
        end
      end
    end
  end
end
return out
`)

// ReadView implements store.Reader. On a single node or a Sentinel-managed
// master it is one round trip: one script (followed by WAIT on the same
// connection when it consumes a token, as ConsumeToken is). On a Redis
// Cluster the token and each collection live in slots of their own, and a
// script touches one slot: the token is one script, then each level of
// records (the token's owner and the records asked for, then their tenants
// and developers, then the developers' tenants) one pipeline, whose
// commands the cluster client sends to their masters in parallel.
func (s *Store) ReadView(ctx context.Context, r store.Read) (*store.View, error) {
	if !s.cluster {
		keys, args := s.readArgs(&r, r.Token != "", colls(&r), string(store.Tenants), string(store.Developers))
		reply, err := s.runRead(ctx, &r, keys, args)
		if err != nil {
			return nil, err
		}
		tok, answers, err := parseRead(&r, reply)
		if err != nil {
			return nil, err
		}
		return store.NewView(r, tok, answers), nil
	}
	var tok *store.TokenAnswer
	var owner *store.Token
	if r.Token != "" {
		keys, args := s.readArgs(&store.Read{Now: r.Now, Token: r.Token, Consume: r.Consume}, true, nil, "", "")
		reply, err := s.runRead(ctx, &r, keys, args)
		if err != nil {
			return nil, err
		}
		if tok, _, err = parseRead(&r, reply); err != nil {
			return nil, err
		}
		if tok.Err == nil {
			owner = &tok.Token
		}
	}
	answers, err := r.Follow(owner, func(dst []store.Answer, refs []store.Ref) ([]store.Answer, error) {
		got, err := s.readLevel(ctx, refs)
		return append(dst, got...), err
	})
	if err != nil {
		return nil, err
	}
	return store.NewView(r, tok, answers), nil
}

// runRead runs readScript: with WAIT for replicas when it may consume a
// token (a consumed single-use token must stay consumed across a failover).
func (s *Store) runRead(ctx context.Context, r *store.Read, keys []string, args []any) ([]any, error) {
	if r.Token == "" || r.Consume == "" {
		reply, err := readScript.Run(ctx, s.rdb, keys, args...).Slice()
		return reply, wrap("read", err)
	}
	var cmd *goredis.Cmd
	err := s.durable(ctx, keys[0], func(p goredis.Pipeliner, load bool) {
		cmd = s.script(ctx, p, load, readScript, keys, args...)
	})
	var reply []any
	if err == nil {
		reply, err = cmd.Slice()
	}
	return reply, wrap("read", err)
}

// readLevel reads refs on a Redis Cluster: one script per record (its
// collection's slot), in one pipeline.
func (s *Store) readLevel(ctx context.Context, refs []store.Ref) ([]store.Answer, error) {
	for _, load := range []bool{false, true} {
		pipe := s.rdb.Pipeline()
		cmds := make([]*goredis.Cmd, len(refs))
		for i, ref := range refs {
			keys, args := s.readArgs(&store.Read{Refs: []store.Ref{ref}}, false, []store.Collection{ref.C}, "", "")
			cmds[i] = s.script(ctx, pipe, load, readScript, keys, args...)
		}
		_, _ = pipe.Exec(ctx)
		answers := make([]store.Answer, 0, len(refs))
		again := false
		for _, cmd := range cmds {
			reply, err := cmd.Slice()
			if err != nil && !load && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				again = true
				break
			}
			if err != nil {
				return nil, wrap("read", err)
			}
			_, got, err := parseRead(&store.Read{}, reply)
			if err != nil {
				return nil, err
			}
			answers = append(answers, got...)
		}
		if !again {
			return answers, nil
		}
	}
	return nil, errors.New("redis: read: script not loaded")
}

// colls returns the collections r may read.
func colls(r *store.Read) []store.Collection {
	out := []store.Collection{store.Tenants}
	add := func(c store.Collection) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if r.DeveloperOf != "" {
		add(store.Developers)
	}
	for _, o := range r.Owners {
		add(o.C)
	}
	for _, ref := range r.Refs {
		add(ref.C)
	}
	return out
}

// readArgs returns the keys and arguments of readScript for r, reading the
// token when withToken, records of cs only, following tenants into the
// collection named tenants and developers into developers ("" follows none).
func (s *Store) readArgs(r *store.Read, withToken bool, cs []store.Collection, tenants, developers string) ([]string, []any) {
	keys := make([]string, 0, 1+2*len(cs))
	has := "0"
	if withToken {
		keys, has = append(keys, s.tokKey(r.Token)), "1"
	}
	args := make([]any, 0, 8+len(cs)+3*len(r.Owners)+3*len(r.Refs))
	args = append(args, r.Now.Unix(), r.Consume, string(r.DeveloperOf), tenants, developers, has, len(cs))
	for _, c := range cs {
		keys = append(keys, s.recKey(c), s.keyKey(c))
		args = append(args, string(c))
	}
	args = append(args, len(r.Owners))
	for _, o := range r.Owners {
		args = append(args, o.Kind, string(o.C), string(o.Field))
	}
	args = append(args, len(r.Refs))
	for _, ref := range r.Refs {
		args = append(args, string(ref.C), ref.ID, ref.Key)
	}
	return keys, args
}

// parseRead decodes readScript's reply to r. It checks the token as
// GetToken does (live at r.Now) and fails when the script left a token of
// the kind to consume unconsumed.
func parseRead(r *store.Read, reply []any) (*store.TokenAnswer, []store.Answer, error) {
	if len(reply) < 2 || (len(reply)-2)%5 != 0 {
		return nil, nil, fmt.Errorf("redis: read: reply of %d values", len(reply))
	}
	var tok *store.TokenAnswer
	status, _ := reply[0].(string)
	raw, _ := reply[1].(string)
	switch status {
	case "none":
	case "absent":
		tok = &store.TokenAnswer{Err: store.ErrNotFound}
	case "read", "consumed", "consumed now":
		t, err := liveToken([]byte(raw), r.Now)
		switch {
		case err != nil:
			tok = &store.TokenAnswer{Err: err}
		case status == "consumed" || r.Consume != "" && t.Kind == r.Consume && t.Consumed:
			tok = &store.TokenAnswer{Err: store.ErrConsumed}
		case status == "read" && r.Consume != "" && t.Kind == r.Consume:
			return nil, nil, errors.New("redis: read: a token to consume was not consumed")
		default:
			tok = &store.TokenAnswer{Token: t}
		}
	default:
		return nil, nil, fmt.Errorf("redis: read: token status %q", status)
	}
	answers := make([]store.Answer, 0, (len(reply)-2)/5)
	for i := 2; i < len(reply); i += 5 {
		c, _ := reply[i].(string)
		id, _ := reply[i+1].(string)
		key, _ := reply[i+2].(string)
		found, _ := reply[i+3].(string)
		a := store.Answer{Ref: store.Ref{C: store.Collection(c), ID: id, Key: key}}
		if v, ok := reply[i+4].(string); !ok {
			a.Err = store.ErrNotFound
		} else if a.Err = decode([]byte(v), &a.Record); a.Err == nil {
			a.ID = found
		}
		answers = append(answers, a)
	}
	return tok, answers, nil
}

// LookupOwned implements store.OwnedLookup with ReadView: one round trip on
// a single node or a Sentinel-managed master, two on a Redis Cluster (the
// record in its collection's slot, then the tenant in the tenants' slot).
func (s *Store) LookupOwned(ctx context.Context, c store.Collection, key string) (store.Record, store.Owner, error) {
	ref := store.Ref{C: c, Key: key}
	v, err := store.ReadView(ctx, s, store.Read{Refs: []store.Ref{ref}})
	if err != nil {
		return store.Record{}, store.Owner{}, err
	}
	return v.Owned(ctx, ref)
}
