package nlp

import (
	_ "embed"
	"fmt"
)

//go:generate go run ./internal/train -out .

// The sentiment models, trained from the training splits of the public
// datasets by ./internal/train (see its doc comment for which data).
var (
	//go:embed model_en.gz
	modelEN []byte
	//go:embed model_pt.gz
	modelPT []byte
	//go:embed model_aspects_restaurants.gz
	modelAspectsRestaurants []byte
)

// RestaurantAspects returns the aspect model learned from the SemEval-2014
// restaurant training sentences, its categories named through
// configs/semeval2014_restaurants.yaml: food_drink, staff, price, ambience
// and general (anecdotes/miscellaneous).
func RestaurantAspects() (*AspectModel, error) {
	return DecodeAspectModel(modelAspectsRestaurants)
}

// loadModels decodes the embedded models.
func loadModels() (map[string]*Model, error) {
	out := map[string]*Model{}
	for lang, b := range map[string][]byte{"en": modelEN, "pt": modelPT} {
		m, err := decodeModel(b)
		if err != nil {
			return nil, fmt.Errorf("load %s model: %w", lang, err)
		}
		out[lang] = m
	}
	return out, nil
}
