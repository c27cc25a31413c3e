package embed

import (
	"context"
	"fmt"

	"github.com/ollama/ollama/types/model"
)

// Ping checks, cheaply, that the server answers and holds the model: one
// model listing, no embedding, no retries, so a readiness probe neither
// queues behind the worker's batches nor loads the model. Check is the
// thorough test (it embeds).
func (c *Client) Ping(ctx context.Context) error {
	list, err := c.api.List(ctx)
	if err != nil {
		return fmt.Errorf("ollama at %s: %w", c.base, err)
	}
	want := model.ParseName(c.model)
	for _, m := range list.Models {
		if model.ParseName(m.Name).EqualFold(want) {
			return nil
		}
	}
	return fmt.Errorf("ollama at %s has no model %q: %w; %s", c.base, c.model, ErrModelMissing, c.missingHint)
}
