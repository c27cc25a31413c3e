package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/attune-cx/attune/configs"
)

func TestShippedConfigDocumentsEverySetting(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(configs.Default, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, typ reflect.Type, doc map[string]any)
	walk = func(prefix string, typ reflect.Type, doc map[string]any) {
		for i := 0; i < typ.NumField(); i++ {
			tag := strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0]
			v, ok := doc[tag]
			if !ok {
				t.Errorf("setting %s%s is missing from configs/attune.yaml", prefix, tag)
				continue
			}
			if ft := typ.Field(i).Type; ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
				sub, _ := v.(map[string]any)
				walk(prefix+tag+".", ft, sub)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}), doc)
	if _, err := LoadConfig("", nil, nil); err != nil {
		t.Fatalf("shipped defaults do not validate: %v", err)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "attune.yaml")
	if err := os.WriteFile(file, []byte("nats:\n  url: nats://file:4222\n  fetch_batch: 64\ncluster:\n  k: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"ATTUNE_NATS_URL=nats://env:4222", "ATTUNE_CLUSTER_WEIGHTS_SENTIMENT=2.5", "ATTUNE_NATS_ACK_WAIT=90s", "HOME=/x"}
	sets := []string{"nats.url=nats://flag:4222", "cluster.engagement_attrs=likes, shares"}
	cfg, err := LoadConfig(file, env, sets)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"flag beats env and file", cfg.NATS.URL, "nats://flag:4222"},
		{"file beats default", cfg.NATS.FetchBatch, 64},
		{"file int", cfg.Cluster.K, 7},
		{"env nested float", cfg.Cluster.Weights.Sentiment, 2.5},
		{"env duration", cfg.NATS.AckWait, 90 * time.Second},
		{"flag list", cfg.Cluster.EngagementAttrs, []string{"likes", "shares"}},
		{"default kept", cfg.Embed.Model, ownModel},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		sets []string
	}{
		{"unknown key in file", "nats:\n  ulr: x\n", nil, nil},
		{"unknown env", "", []string{"ATTUNE_NATS_NOPE=1"}, nil},
		{"unknown flag key", "", nil, []string{"cluster.kk=3"}},
		{"set without value", "", nil, []string{"cluster.k"}},
		{"bad number", "", nil, []string{"cluster.k=many"}},
		{"bad duration", "", []string{"ATTUNE_NATS_ACK_WAIT=soon"}, nil},
		{"invalid range", "cluster:\n  k_min: 9\n  k_max: 3\n", nil, nil},
		{"bad log level", "log_level: loud\n", nil, nil},
		{"empty model", "", nil, []string{"embed.model="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadConfig(path, tt.env, tt.sets); err == nil {
				t.Error("LoadConfig accepted a bad configuration")
			}
		})
	}
}
