package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/apps/internal/providers"
)

func init() {
	commands["backup"] = command{summary: "copy a local data directory (its database online, with its objects and archives)",
		usage: "backup [--data DIR] OUT",
		about: "OUT (which must not exist) becomes a data directory gas serve --data OUT can run on; the server may keep running.",
		run:   runBackup}
}

// defaultDataDir is where `gas serve` keeps its data unless told: jobs and
// results are data, not cache, so $XDG_DATA_HOME/gas, falling back to
// ~/.local/share/gas; "" when neither is known.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gas")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "gas")
	}
	return ""
}

// runBackup is `gas backup --data DIR OUT`: OUT becomes a data directory
// `gas serve --data OUT` can run on. The database is copied with SQLite's
// VACUUM INTO, a consistent snapshot taken while a server may be running;
// objects and archives are files that are only ever replaced whole (a
// rename), so each copied file is a whole object. Files written or
// deleted while the copy runs may or may not be in it: for an exact copy,
// stop the server first.
func runBackup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", defaultDataDir(), "data `DIR` to back up")
	showDefault(fs, "data", "$XDG_DATA_HOME/gas (~/.local/share/gas)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: one output directory OUT, got %d arguments", errUsage, len(pos))
	}
	out := pos[0]
	db := filepath.Join(*data, providers.DatabaseFile)
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("%w: %s is not a gas data directory: %v", errUsage, *data, err)
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		return fmt.Errorf("backup to %s: %w (it must not exist yet)", out, err)
	}
	if err := sqlite.Backup(ctx, db, filepath.Join(out, providers.DatabaseFile)); err != nil {
		return err
	}
	for _, name := range []string{providers.ObjectsDir, providers.ArchiveDir, providers.SecretFile} {
		if err := copyTree(ctx, filepath.Join(*data, name), filepath.Join(out, name)); err != nil {
			return fmt.Errorf("backup %s: %w", name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "gas backup: %s copied to %s; run it with gas serve --data %s\n", *data, out, out)
	return nil
}

// copyTree copies the regular files under src to dst, skipping temporary
// files of writes in progress and files deleted while it runs.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && d.Name() == "tmp":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		case !d.Type().IsRegular():
			return nil
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted since the walk listed it
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
