// Command tilecheck is an independent reader of C2SP tlog-tiles logs (Rekor v2, Tessera),
// built as a test oracle for vouch's tile log (issue #14). All Merkle work is done by the Go
// team's golang.org/x/mod/sumdb/tlog and the checkpoint by golang.org/x/mod/sumdb/note, so
// nothing here shares code with vouch.
//
// The log is read over HTTP(S) or from a directory holding the same layout (C2SP tlog-tiles:
// a tile log can be served by any static web server):
//
//	checkpoint                  <base>/checkpoint
//	hash tiles                  <base>/tile/<L>/<N>[.p/<W>]
//	entry bundles               <base>/tile/entries/<N>[.p/<W>]
//
// Usage:
//
//	tilecheck -log URL|DIR -vkey VKEY checkpoint [-out FILE]
//	tilecheck -log URL|DIR -vkey VKEY inclusion -index N [-entry FILE]
//	tilecheck -log URL|DIR -vkey VKEY consistency -old FILE [-new FILE]
//
// checkpoint verifies the signed note and prints "size <N> root <hex>"; inclusion reads the
// entry at N from its entry bundle, checks the entry bundle against the level-0 hash tile
// (every leaf), optionally that the entry equals FILE byte for byte, and proves its inclusion
// in the checkpoint's tree from tiles; consistency proves the current checkpoint (or -new)
// extends the old one. Any failure exits 1 with a message naming the check.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// C2SP tlog-tiles: tiles are 2^8 hashes wide.
const tileHeight = 8

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tilecheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	global := flag.NewFlagSet("tilecheck", flag.ContinueOnError)
	logURL := global.String("log", "", "base URL (http/https) or directory of the tile log")
	vkey := global.String("vkey", "", "verifier key of the checkpoint signer (note.NewVerifier format)")
	origin := global.String("origin", "", "expected checkpoint origin (default: the key name)")
	if err := global.Parse(args); err != nil {
		return err
	}
	if *logURL == "" || *vkey == "" || global.NArg() == 0 {
		return errors.New("usage: tilecheck -log URL|DIR -vkey VKEY checkpoint|inclusion|consistency [flags]")
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("vkey: %w", err)
	}
	if *origin == "" {
		*origin = verifier.Name()
	}
	src := source{base: strings.TrimSuffix(*logURL, "/"), client: &http.Client{Timeout: 30 * time.Second}}
	cmd, rest := global.Arg(0), global.Args()[1:]
	switch cmd {
	case "checkpoint":
		fs := flag.NewFlagSet("checkpoint", flag.ContinueOnError)
		out := fs.String("out", "", "write the verified checkpoint note to this file")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		raw, cp, err := fetchCheckpoint(src, verifier, *origin)
		if err != nil {
			return err
		}
		if *out != "" {
			if err := os.WriteFile(*out, raw, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("size %d root %x\n", cp.N, cp.Hash[:])
		return nil
	case "inclusion":
		fs := flag.NewFlagSet("inclusion", flag.ContinueOnError)
		index := fs.Int64("index", -1, "leaf index")
		entryFile := fs.String("entry", "", "the entry's expected bytes")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		_, cp, err := fetchCheckpoint(src, verifier, *origin)
		if err != nil {
			return err
		}
		return inclusion(src, cp, *index, *entryFile)
	case "consistency":
		fs := flag.NewFlagSet("consistency", flag.ContinueOnError)
		oldFile := fs.String("old", "", "the older checkpoint note")
		newFile := fs.String("new", "", "the newer checkpoint note (default: fetch the log's)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		oldRaw, err := os.ReadFile(*oldFile)
		if err != nil {
			return err
		}
		old, err := openCheckpoint(oldRaw, verifier, *origin)
		if err != nil {
			return fmt.Errorf("old checkpoint: %w", err)
		}
		var cur tlog.Tree
		if *newFile != "" {
			newRaw, err := os.ReadFile(*newFile)
			if err != nil {
				return err
			}
			if cur, err = openCheckpoint(newRaw, verifier, *origin); err != nil {
				return fmt.Errorf("new checkpoint: %w", err)
			}
		} else if _, cur, err = fetchCheckpoint(src, verifier, *origin); err != nil {
			return err
		}
		if cur.N < old.N {
			return fmt.Errorf("consistency: the new tree (size %d) is smaller than the old (size %d)", cur.N, old.N)
		}
		proof, err := tlog.ProveTree(cur.N, old.N, tlog.TileHashReader(cur, &tiles{src: src}))
		if err != nil {
			return fmt.Errorf("consistency: building the proof from tiles: %w", err)
		}
		if err := tlog.CheckTree(proof, cur.N, cur.Hash, old.N, old.Hash); err != nil {
			return fmt.Errorf("consistency: size %d -> %d: %w", old.N, cur.N, err)
		}
		fmt.Printf("consistent %d -> %d\n", old.N, cur.N)
		return nil
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func inclusion(src source, cp tlog.Tree, index int64, entryFile string) error {
	if index < 0 || index >= cp.N {
		return fmt.Errorf("inclusion: index %d is not in the tree of size %d", index, cp.N)
	}
	reader := tlog.TileHashReader(cp, &tiles{src: src})
	// The entry bundle holding the index: every entry in it must hash to the level-0 tile's
	// leaf at its position (the level-0 tile itself is authenticated against the root by
	// TileHashReader), so a changed entry bundle is refused, not only the one entry.
	bundleTile := tlog.TileForIndex(tileHeight, tlog.StoredHashIndex(0, index))
	bundleTile = widen(bundleTile, cp.N)
	data, err := src.get(entriesPath(bundleTile))
	if err != nil {
		return fmt.Errorf("entry bundle: %w", err)
	}
	entries, err := parseBundle(data)
	if err != nil {
		return fmt.Errorf("entry bundle %s: %w", entriesPath(bundleTile), err)
	}
	if len(entries) != bundleTile.W {
		return fmt.Errorf("entry bundle %s: %d entries, the tree needs %d", entriesPath(bundleTile), len(entries), bundleTile.W)
	}
	first := bundleTile.N << tileHeight
	indexes := make([]int64, len(entries))
	for i := range entries {
		indexes[i] = tlog.StoredHashIndex(0, first+int64(i))
	}
	leaves, err := reader.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("hash tiles: %w", err)
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] {
			return fmt.Errorf("entry bundle: entry %d does not hash to its leaf in the hash tile", first+int64(i))
		}
	}
	entry := entries[index-first]
	if entryFile != "" {
		want, err := os.ReadFile(entryFile)
		if err != nil {
			return err
		}
		if !bytes.Equal(want, entry) {
			return fmt.Errorf("entry %d: the log holds other bytes than %s", index, entryFile)
		}
	}
	proof, err := tlog.ProveRecord(cp.N, index, reader)
	if err != nil {
		return fmt.Errorf("inclusion: building the proof from tiles: %w", err)
	}
	if err := tlog.CheckRecord(proof, cp.N, cp.Hash, index, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("inclusion of %d in size %d: %w", index, cp.N, err)
	}
	leaf := tlog.RecordHash(entry)
	fmt.Printf("included %d in %d leaf %x\n", index, cp.N, leaf[:])
	return nil
}

// widen gives a level-0 tile the width the tree of size n has at that tile.
func widen(t tlog.Tile, n int64) tlog.Tile {
	t.W = 1 << tileHeight
	if end := (t.N + 1) << tileHeight; end > n {
		t.W = int(n - t.N<<tileHeight)
	}
	return t
}

// parseBundle splits a C2SP entry bundle: entries as big-endian uint16 length + bytes.
func parseBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("truncated length prefix")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("truncated entry")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}

func fetchCheckpoint(src source, v note.Verifier, origin string) ([]byte, tlog.Tree, error) {
	raw, err := src.get("checkpoint")
	if err != nil {
		return nil, tlog.Tree{}, fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := openCheckpoint(raw, v, origin)
	return raw, cp, err
}

// openCheckpoint verifies a signed note by the key and parses its C2SP tlog-checkpoint body:
// origin, decimal size, base64 root hash, then optional extension lines.
func openCheckpoint(raw []byte, v note.Verifier, origin string) (tlog.Tree, error) {
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return tlog.Tree{}, errors.New("checkpoint body: needs origin, size and root hash lines")
	}
	if lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("checkpoint origin %q is not %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return tlog.Tree{}, fmt.Errorf("checkpoint size %q", lines[1])
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(hash) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("checkpoint root hash %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], hash)
	return tlog.Tree{N: size, Hash: h}, nil
}

// tiles reads C2SP hash tiles (no height in the path, unlike sumdb's tile/8/...).
type tiles struct{ src source }

func (t *tiles) Height() int { return tileHeight }

func (t *tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		data, err := t.src.get(hashPath(tile))
		if err != nil {
			return nil, err
		}
		if len(data) != tile.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", hashPath(tile), len(data), tile.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (t *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// hashPath is tile/<L>/<N>[.p/<W>]: sumdb's path without the height element.
func hashPath(t tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
}

func entriesPath(t tlog.Tile) string {
	t.L = 0
	return "tile/entries/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/0/", t.H))
}

type source struct {
	base   string
	client *http.Client
}

func (s source) get(path string) ([]byte, error) {
	if !strings.HasPrefix(s.base, "http://") && !strings.HasPrefix(s.base, "https://") {
		return os.ReadFile(filepath.Join(s.base, filepath.FromSlash(path)))
	}
	url := s.base + "/" + path
	resp, err := s.client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<24))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return body, nil
}
