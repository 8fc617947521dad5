package shellstate_test

import (
	"fmt"

	"github.com/nix-vanilla/nix-vanilla/pkg/shellstate"
)

func ExampleParseVars() {
	vars, err := shellstate.ParseVars([]byte(`declare -x PATH="/nix/store/x-make/bin"
declare -a makeFlagsArray=([0]="PREFIX=/out" [1]="CFLAGS=-O2 -g")
`), "vars.sh")
	if err != nil {
		panic(err)
	}
	for _, e := range vars["makeFlagsArray"].Elems {
		fmt.Printf("%s: %q\n", e.Key, e.Value)
	}
	// Output:
	// 0: "PREFIX=/out"
	// 1: "CFLAGS=-O2 -g"
}

func ExampleMerge() {
	state := func(vars string) *shellstate.State {
		v, err := shellstate.ParseVars([]byte(vars), "vars.sh")
		if err != nil {
			panic(err)
		}
		return &shellstate.State{Vars: v, Dir: "/build/source"}
	}
	before := state(`declare -x PATH="/tools/bin"` + "\n")
	after := state(`declare -x PATH="/build/source/bin:/tools/bin"` + "\n" + `declare -- built="yes"` + "\n")
	fresh := state(`declare -x PATH="/tools/bin:/check/bin"` + "\n")
	m, err := shellstate.Merge(before, after, fresh, shellstate.MergeOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Print(m.Script)
	// Output:
	// # nix-vanilla: shell state of the checkpointed phases
	// declare -g -x PATH=/build/source/bin:/tools/bin:/check/bin
	// declare -g built=yes
	// cd -- /build/source
}

func ExampleParseAssoc() {
	// What the hook's _vanillaDeclareAssoc writes for
	// declare -A opts=([%]=percent ["a b"]=$'x\ny').
	arrays, err := shellstate.ParseAssoc([]byte(`vanillaAssoc A opts '%' 'percent' 'a b' $'x\ny'`+"\n"), "assoc.sh")
	if err != nil {
		panic(err)
	}
	v := arrays["opts"]
	fmt.Println(v.Kind, v.Flags)
	for _, e := range v.Elems {
		fmt.Printf("%s: %q\n", e.Key, e.Value)
	}
	// Output:
	// Associative A
	// %: "percent"
	// a b: "x\ny"
}

func ExampleKind_String() {
	fmt.Println(shellstate.Scalar, shellstate.Indexed, shellstate.Associative)
	// Output: Scalar Indexed Associative
}
