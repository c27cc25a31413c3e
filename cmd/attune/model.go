package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/embed/wordvec"
)

func modelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Manage the project's own embedding model",
	}
	var force bool
	build := &cobra.Command{
		Use:   "build",
		Short: "Train word vectors from the public datasets and register them with Ollama as " + ownModel,
		Long: `build trains the project's own embedding model (PPMI word vectors, randomized
SVD, SIF weights, common component removed) from the texts of the shared public
datasets (training splits only), writes it as a GGUF file under the cache dir,
and registers it with Ollama as ` + ownModel + `. The same corpus and seed give the
same file; a cached file is registered again without retraining unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			a := newApp(cfg, log)
			defer a.Close()
			ctx := cmd.Context()
			srv, err := embed.EnsureServer(ctx, embed.ServerConfig{
				Host: cfg.Ollama.Host, Manage: cfg.Ollama.Manage, Binary: cfg.Ollama.Binary,
				CacheDir: cfg.cacheDir(), Version: cfg.Ollama.Version, Logger: log,
			})
			if err != nil {
				return fmt.Errorf("ollama: %w", err)
			}
			a.onClose(func() { _ = srv.Stop() })
			emb, err := embed.NewClient(srv.Host(), ownModel, embed.WithLogger(log))
			if err != nil {
				return err
			}
			if force {
				if p, err := modelPath(cfg); err == nil {
					_ = os.Remove(p)
				}
			}
			if err := buildOwnModel(ctx, cfg, emb, log, cmd.ErrOrStderr()); err != nil {
				return err
			}
			dim, err := emb.Check(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "model %s registered with Ollama at %s (dimension %d)\n", ownModel, srv.Host(), dim)
			return nil
		},
	}
	build.Flags().BoolVar(&force, "force", false, "retrain even if a cached model file exists")
	cmd.AddCommand(build)
	return cmd
}

// modelPath is where the GGUF for the current model settings is cached: the
// name carries the settings and a hash of the datasets, so a change of either
// trains a new file.
func modelPath(cfg *Config) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "dim=%d seed=%d\n", cfg.Model.Dim, cfg.Model.Seed)
	err := filepath.WalkDir(cfg.Model.DatasetsDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d %d\n", filepath.ToSlash(p[len(cfg.Model.DatasetsDir):]), info.Size(), info.ModTime().Unix())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("datasets dir %s: %w (set model.datasets_dir)", cfg.Model.DatasetsDir, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	return filepath.Join(cfg.cacheDir(), "models", fmt.Sprintf("%s-d%d-%s.gguf", ownModel, cfg.Model.Dim, sum)), nil
}

// buildOwnModel trains (or reuses the cached file) and registers the model.
func buildOwnModel(ctx context.Context, cfg *Config, emb *embed.Client, log *slog.Logger, progress io.Writer) error {
	path, err := modelPath(cfg)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		texts, err := wordvec.Corpus(cfg.Model.DatasetsDir)
		if err != nil {
			return fmt.Errorf("read training corpus: %w", err)
		}
		log.Info("training the embedding model", "texts", len(texts), "dim", cfg.Model.Dim, "seed", cfg.Model.Seed)
		var bar *progressbar.ProgressBar
		stage := ""
		m, err := wordvec.Train(ctx, texts, wordvec.Options{
			Dim:  cfg.Model.Dim,
			Seed: cfg.Model.Seed,
			Progress: func(s string, done, total int) {
				if s != stage || bar == nil {
					if bar != nil {
						_ = bar.Finish()
					}
					stage = s
					bar = progressbar.NewOptions(total,
						progressbar.OptionSetWriter(progress),
						progressbar.OptionSetDescription("model: "+s),
						progressbar.OptionShowCount(),
						progressbar.OptionSetVisibility(isTerminal(progress)),
						progressbar.OptionClearOnFinish())
				}
				_ = bar.Set(done)
			},
		})
		if bar != nil {
			_ = bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("train embedding model: %w", err)
		}
		if err := writeFileAtomic(path, m.WriteGGUF); err != nil {
			return fmt.Errorf("write model: %w", err)
		}
		log.Info("embedding model trained", "words", len(m.Words), "dim", m.Dim, "served_dim", m.ServedDim(), "took", time.Since(start).Round(time.Millisecond), "file", path)
	}
	if err := emb.CreateFromGGUF(ctx, ownModel, path); err != nil {
		return fmt.Errorf("register %s with ollama: %w", ownModel, err)
	}
	log.Info("embedding model registered", "model", ownModel, "file", path)
	return nil
}

// writeFileAtomic writes through a temp file and renames it into place, so a
// crash never leaves a half-written model behind.
func writeFileAtomic(path string, write func(io.WriteSeeker) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
