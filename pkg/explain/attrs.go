package explain

import (
	"encoding/json"
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/derivation"
	"github.com/nix-vanilla/nix-vanilla/pkg/drvattrs"
)

// Attrs returns a derivation's attributes for display and comparison: its
// environment, with structured attributes (__json) taken apart, a string
// as its text and any other value as compact JSON.
func Attrs(d *derivation.Derivation) (map[string]string, error) {
	env := d.EnvMap()
	j, ok := env["__json"]
	if !ok {
		return env, nil
	}
	delete(env, "__json")
	s, err := drvattrs.FromJSON([]byte(j))
	if err != nil {
		return nil, err
	}
	for k, v := range s {
		var str string
		if json.Unmarshal([]byte(v), &str) == nil {
			v = str
		}
		env[k] = v
	}
	return env, nil
}

// BuildAttrs returns the attributes a build of d sees, as package drvattrs
// reads them inside the build: the environment, or for structured
// attributes the JSON file's values, whose outputs are a map from output
// name to path.
func BuildAttrs(d *derivation.Derivation) (drvattrs.Attrs, error) {
	env := d.EnvMap()
	j, ok := env["__json"]
	if !ok {
		return drvattrs.Attrs(env), nil
	}
	a, err := drvattrs.FromJSON([]byte(j))
	if err != nil {
		return nil, err
	}
	outs := map[string]string{}
	for _, o := range d.Outputs {
		outs[o.Name] = o.Path
	}
	b, err := json.Marshal(outs)
	if err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	a["outputs"] = string(b)
	return a, nil
}

// stageOf returns a derivation's vanillaStage, "" for none.
func stageOf(attrs map[string]string) string { return attrs["vanillaStage"] }
