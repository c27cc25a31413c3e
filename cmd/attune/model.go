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
	"github.com/attune-cx/attune/ingest"
)

// modelRecipe names the training recipe in the cache key, so that a change
// of the recipe (here: subword pieces for unseen words) trains a new file
// instead of reusing one cached by an older attune.
const modelRecipe = "ppmi-svd-sif-pc+pieces/1"

// modelSpec is what a model is trained from: the default corpus unless
// replaced, plus the user's corpus files.
type modelSpec struct {
	name        string   // Ollama model name
	corpus      []string // user corpus files (JSONL, CSV, TSV)
	field       string   // their text field or column
	replace     bool     // train on the user files only
	datasetsDir string
	dim         int
	seed        int64
}

// defaultModelSpec is the project's own model as configured.
func defaultModelSpec(cfg *Config) modelSpec {
	return modelSpec{name: ownModel, datasetsDir: cfg.Model.DatasetsDir, dim: cfg.Model.Dim, seed: cfg.Model.Seed}
}

func modelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Manage the project's own embedding model",
	}
	var (
		force, replace, noRegister bool
		corpus                     []string
		field, name, out           string
	)
	build := &cobra.Command{
		Use:   "build",
		Short: "Train word vectors from the public datasets (and your own texts) and register them with Ollama",
		Long: `build trains the project's own embedding model (PPMI word vectors, randomized
SVD, SIF weights, common component removed, subword pieces for unseen words)
from the texts of the shared public datasets (training splits only), writes it
as a GGUF file under the cache dir, and registers it with Ollama as --name
(default ` + ownModel + `).

--corpus FILE (repeatable) adds your own texts: JSON Lines (.jsonl, .ndjson)
with the text in --field, or CSV/TSV with a header row naming --field as a
column. --replace trains on your files only. Give the new model its own
--name, then point workers at it (embed.model, or ` + "`attune model use NAME`" + `
where supported) so that stored events are re-embedded instead of mixing
vector spaces.

The same corpus, dimension and seed give the same file, byte for byte; a
cached file is registered again without retraining unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			spec := defaultModelSpec(cfg)
			spec.corpus, spec.field, spec.replace = corpus, field, replace
			if name != "" {
				spec.name = name
			}
			if replace && len(corpus) == 0 {
				return fmt.Errorf("--replace needs at least one --corpus file")
			}
			ctx := cmd.Context()
			path := out
			if path == "" {
				if path, err = modelPath(cfg, spec); err != nil {
					return err
				}
			}
			if force || out != "" {
				_ = os.Remove(path)
			}
			if err := trainModelFile(ctx, spec, path, log, cmd.ErrOrStderr()); err != nil {
				return err
			}
			if noRegister {
				fmt.Fprintf(cmd.OutOrStdout(), "model written to %s (not registered)\n", path)
				return nil
			}
			a := newApp(cfg, log)
			defer a.Close()
			srv, err := embed.EnsureServer(ctx, embed.ServerConfig{
				Host: cfg.Ollama.Host, Manage: cfg.Ollama.Manage, Binary: cfg.Ollama.Binary,
				CacheDir: cfg.cacheDir(), Version: cfg.Ollama.Version, Logger: log,
			})
			if err != nil {
				return fmt.Errorf("ollama: %w", err)
			}
			a.onClose(func() { _ = srv.Stop() })
			emb, err := embed.NewClient(srv.Host(), spec.name, embed.WithLogger(log))
			if err != nil {
				return err
			}
			if err := emb.CreateFromGGUF(ctx, spec.name, path); err != nil {
				return fmt.Errorf("register %s with ollama: %w", spec.name, err)
			}
			dim, err := emb.Check(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "model %s registered with Ollama at %s (dimension %d) from %s\n", spec.name, srv.Host(), dim, path)
			return nil
		},
	}
	build.Flags().BoolVar(&force, "force", false, "retrain even if a cached model file exists")
	build.Flags().StringArrayVar(&corpus, "corpus", nil, "your own texts to train on as well: a .jsonl/.ndjson, .csv or .tsv file (repeatable)")
	build.Flags().StringVar(&field, "field", "text", "the JSON field or CSV/TSV column holding the text in --corpus files")
	build.Flags().BoolVar(&replace, "replace", false, "train on the --corpus files only, without the public datasets")
	build.Flags().StringVar(&name, "name", "", "register the model with Ollama under this name (default "+ownModel+")")
	build.Flags().StringVar(&out, "out", "", "write the GGUF to this file instead of the cache (always trains)")
	build.Flags().BoolVar(&noRegister, "no-register", false, "only train and write the file; do not start or call Ollama")
	use := &cobra.Command{
		Use:   "use NAME",
		Short: "Switch the running worker to another embedding model without stopping it",
		Long: `use tells the running worker to embed with NAME (a model on its Ollama, e.g. one
made by ` + "`attune model build --name NAME`" + `). The worker keeps consuming while it
re-embeds the stored events with NAME in the background; then it pauses
batches briefly to embed the events that arrived meanwhile, stores the new
vectors, swaps the model and re-clusters. Vectors of two models never mix.
The switch lasts until the worker restarts; set embed.model to keep it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := clientApp(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			var rep modelSwitchReply
			if err := ingest.Control(cmd.Context(), a.nc, "model", modelSwitchRequest{Model: args[0]}, &rep); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "switched %s (dim %d) -> %s (dim %d): %d events re-embedded (%d while batches waited %.2fs), %d segments, %.1fs\n",
				rep.Was.Model, rep.Was.Dim, rep.Now.Model, rep.Now.Dim, rep.Reembedded, rep.AtSwap, rep.PausedSeconds, rep.Segments, rep.Seconds)
			return nil
		},
	}
	cmd.AddCommand(build, use)
	return cmd
}

// modelPath is where the GGUF for spec is cached: the name carries the
// recipe, settings and a hash of the corpus (the datasets' file names, sizes
// and times; the user files' contents), so a change of any trains a new
// file.
func modelPath(cfg *Config, spec modelSpec) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "recipe=%s dim=%d seed=%d pieces=%d replace=%v field=%q\n", modelRecipe, spec.dim, spec.seed, wordvec.DefaultPieces, spec.replace, spec.field)
	if !spec.replace {
		err := filepath.WalkDir(spec.datasetsDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %d %d\n", filepath.ToSlash(p[len(spec.datasetsDir):]), info.Size(), info.ModTime().Unix())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("datasets dir %s: %w (set model.datasets_dir)", spec.datasetsDir, err)
		}
	}
	for _, p := range spec.corpus {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("corpus: %w", err)
		}
		fmt.Fprintf(h, "corpus %s ", filepath.Ext(p))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("corpus %s: %w", p, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	return filepath.Join(cfg.cacheDir(), "models", fmt.Sprintf("%s-d%d-%s.gguf", spec.name, spec.dim, sum)), nil
}

// buildOwnModel trains the configured own model (or reuses the cached file)
// and registers it.
func buildOwnModel(ctx context.Context, cfg *Config, emb *embed.Client, log *slog.Logger, progress io.Writer) error {
	spec := defaultModelSpec(cfg)
	path, err := modelPath(cfg, spec)
	if err != nil {
		return err
	}
	if err := trainModelFile(ctx, spec, path, log, progress); err != nil {
		return err
	}
	if err := emb.CreateFromGGUF(ctx, spec.name, path); err != nil {
		return fmt.Errorf("register %s with ollama: %w", spec.name, err)
	}
	log.Info("embedding model registered", "model", spec.name, "file", path)
	return nil
}

// trainModelFile trains the model of spec and writes its GGUF to path,
// unless path exists. Progress goes to progress: a bar per stage on a
// terminal, else one line per stage as it ends.
func trainModelFile(ctx context.Context, spec modelSpec, path string, log *slog.Logger, progress io.Writer) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	start := time.Now()
	var texts []string
	if !spec.replace {
		var err error
		if texts, err = wordvec.Corpus(spec.datasetsDir); err != nil {
			return fmt.Errorf("read training corpus: %w", err)
		}
	}
	for _, p := range spec.corpus {
		more, err := wordvec.ReadTexts(p, spec.field)
		if err != nil {
			return err
		}
		log.Info("training corpus file", "file", p, "texts", len(more))
		texts = append(texts, more...)
	}
	log.Info("training the embedding model", "model", spec.name, "texts", len(texts), "dim", spec.dim, "seed", spec.seed)
	m, err := wordvec.Train(ctx, texts, wordvec.Options{
		Dim:      spec.dim,
		Seed:     spec.seed,
		Progress: stageProgress(progress, start),
	})
	if err != nil {
		return fmt.Errorf("train embedding model: %w", err)
	}
	if err := writeFileAtomic(path, m.WriteGGUF); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Fprintf(progress, "model: %d words, %d subword pieces, %d dimensions (served %d), trained in %s, peak RSS %.0f MiB: %s\n",
		len(m.Words), len(m.Pieces), m.Dim, m.ServedDim(), time.Since(start).Round(100*time.Millisecond), peakRSSMiB(), path)
	return nil
}

// stageProgress reports wordvec.Train's progress: a bar per stage on a
// terminal; elsewhere (logs, CI) one line per finished stage with the time
// since start.
func stageProgress(w io.Writer, start time.Time) func(stage string, done, total int) {
	var bar *progressbar.ProgressBar
	stage := ""
	if !isTerminal(w) {
		return func(s string, done, total int) {
			if done == total {
				fmt.Fprintf(w, "model: %s done (%d/%d) at %s\n", s, done, total, time.Since(start).Round(100*time.Millisecond))
			}
		}
	}
	return func(s string, done, total int) {
		if s != stage || bar == nil {
			if bar != nil {
				_ = bar.Finish()
			}
			stage = s
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription("model: "+s),
				progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
		}
	}
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
