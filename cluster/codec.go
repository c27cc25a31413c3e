package cluster

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
)

// EncodeModel serialises m for sharing between workers (a NATS KV value): the
// JSON Store.SaveModel writes, gzip-compressed, because the PCA basis and the
// centroids make it hundreds of kilobytes of decimal text.
func EncodeModel(m *Model) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("encode model: model is nil")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeModel reads what EncodeModel wrote and checks it as LoadModel does.
func DecodeModel(b []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	m := new(Model)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	return m, nil
}
