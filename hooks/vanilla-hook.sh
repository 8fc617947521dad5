# shellcheck shell=bash disable=SC2154
# (setup.sh and the derivation set $phases, $name, $outputs and friends.)
# nix-vanilla: resumable builds.
#
# A package built with `vanillaPackage = true` becomes three derivations,
# each with this hook and a `vanillaStage` attribute:
#
#   vanilla    runs the phases up to buildPhase (without the package's own
#              postBuild) and saves a checkpoint: the build tree, what the
#              build wrote into the outputs, and the shell state;
#   unwrapped  unpacks the source, restores the checkpoint over it, replays
#              the shell state, then runs postBuild, checkPhase and the
#              phases up to installPhase, and saves its outputs;
#   final      restores those outputs and the shell state, then runs
#              fixupPhase and the phases after it.
#
# Without vanillaStage (`nativeBuildInputs = [ vanillaHook ]`, hook mode),
# one derivation resumes from a local cache outside the store instead: it
# looks up its resume points (after buildPhase, after installPhase) under
# keys computed from its attributes; on a hit it restores the entry and
# runs only the phases after the point; on a miss it builds as usual and
# stores an entry at each point for the next invocation. The cache never
# fails a build (docs/cache.md).
#
# The hook acts between the phases. A setup.sh patched with `vanilla
# patch-setup` (vanillaStdenv, docs/stdenv-patch.md) has genericBuild run
# `runHook beforePhase NAME` and `runHook afterPhase NAME` around each
# phase, and skip a phase when a beforePhase hook sets skipPhase; the hook
# registers there. With nixpkgs' own setup.sh, it wraps runPhase and
# runHook instead: setup.sh defines them after sourcing the setup hooks, so
# the hook wraps them from postHooks. The same functions decide in both
# cases (_vanillaBeforePhase, _vanillaAfterPhase).
# The helper (`vanilla`) does the file work: snapshot, save and restore.

_vanillaHelper=@helper@

# Entry point, from postHooks: checks the stage and wraps runPhase/runHook.
vanillaSetupHook() {
    # The hook may be among the inputs twice (the split's and the
    # package's own): wrap once.
    [[ -z "${_vanillaSetUp-}" ]] || return 0
    _vanillaSetUp=1
    _vanillaCheckSetup || return 1
    case "${vanillaStage-}" in
        vanilla | unwrapped | final) ;;
        "")
            _vanillaCacheSetup
            return 0
            ;;
        *)
            echo "vanilla: vanillaStage is '$vanillaStage'; expected vanilla, unwrapped or final" >&2
            return 1
            ;;
    esac
    # The hook's own files stay out of the build directory, where the
    # package's phases could see them: in the first two stages they go
    # into the hidden checkpoint output (and are removed once saved); the
    # final stage needs them only until its restore is done.
    if [[ "$vanillaStage" != final ]]; then
        _vanillaHideCheckpointOutput
        _vanillaWork="$_vanillaCheckpoint/.work"
    else
        _vanillaWork="$NIX_BUILD_TOP/.vanilla"
    fi
    mkdir -p "$_vanillaWork"
    if _vanillaHasPhaseHooks; then
        _vanillaUsePhaseHooks _vanillaBeforePhase _vanillaAfterPhase
        return 0
    fi
    _vanillaWrap runPhase
    _vanillaWrap runHook
    runPhase() { _vanillaRunPhase "$@"; }
    runHook() { _vanillaRunHook "$@"; }
}

# _vanillaHasPhaseHooks: whether genericBuild runs the hooks beforePhase
# and afterPhase around each phase (a setup.sh patched by `vanilla
# patch-setup`).
_vanillaHasPhaseHooks() {
    local _vanillaDef
    _vanillaDef=$(declare -f genericBuild) || return 1
    [[ "$_vanillaDef" == *'runHook beforePhase "$curPhase"'* && "$_vanillaDef" == *'runHook afterPhase "$curPhase"'* &&
        "$_vanillaDef" == *'skipPhase'* ]]
}

# _vanillaUsePhaseHooks BEFORE AFTER: register for genericBuild's hook
# points. Nothing is wrapped: the hook's calls of "the original" runPhase
# and runHook are setup.sh's own.
_vanillaUsePhaseHooks() {
    echo "vanilla: setup.sh has hook points between the phases: using them"
    _vanillaPhaseHooks=1
    beforePhaseHooks+=("$1")
    afterPhaseHooks+=("$2")
    _vanillaOrig_runPhase() { runPhase "$@"; }
    _vanillaOrig_runHook() { runHook "$@"; }
}

# _vanillaSkipPhase: the phase genericBuild is about to run is not this
# build's; only the hook points are told (the wrapper asks _vanillaSkip).
_vanillaSkipPhase() {
    _vanillaSkip=1
    # shellcheck disable=SC2034 # genericBuild reads it
    [[ -z "${_vanillaPhaseHooks-}" ]] || skipPhase=1
}

# _vanillaHoldPostBuild: `runHook postBuild` waits until the build point
# (the wrapped runHook decides that itself). With the hook points nothing
# wraps runHook: while buildPhase runs, a postBuild function of the hook's
# records the call, and the package's postBuild (a function or an
# attribute, which a function shadows) and postBuildHooks are kept aside.
_vanillaHoldPostBuild() {
    [[ -n "${_vanillaPhaseHooks-}" ]] || return 0
    _vanillaHeldFunction=$(declare -f postBuild) || _vanillaHeldFunction=
    _vanillaHeldHooks=()
    _vanillaHadHooks=
    if declare -p postBuildHooks >/dev/null 2>&1; then
        _vanillaHadHooks=1
        _vanillaHeldHooks=(${postBuildHooks[@]+"${postBuildHooks[@]}"})
    fi
    postBuildHooks=()
    postBuild() { vanillaRunPostBuild=1; }
    _vanillaHolding=1
}

# _vanillaReleasePostBuild: put back what _vanillaHoldPostBuild kept aside.
_vanillaReleasePostBuild() {
    [[ -n "${_vanillaHolding-}" ]] || return 0
    unset -f postBuild
    [[ -z "$_vanillaHeldFunction" ]] || eval "$_vanillaHeldFunction"
    if [[ -n "$_vanillaHadHooks" ]]; then
        postBuildHooks=(${_vanillaHeldHooks[@]+"${_vanillaHeldHooks[@]}"})
    else
        unset -v postBuildHooks
    fi
    unset -v _vanillaHolding _vanillaHeldFunction _vanillaHeldHooks _vanillaHadHooks
}

# _vanillaCheckSetup: the hook works through setup.sh's runPhase and
# runHook; an stdenv whose setup.sh lacks them (runPhase came with
# NixOS/nixpkgs#230874, May 2023) gets a message instead of a bare failure
# under set -e. Split stages and hook mode alike.
_vanillaCheckSetup() {
    declare -F runPhase runHook >/dev/null && return 0
    local _vanillaMissing=() _vanillaF
    for _vanillaF in runPhase runHook; do
        declare -F "$_vanillaF" >/dev/null || _vanillaMissing+=("$_vanillaF")
    done
    echo "vanilla: this stdenv's setup.sh has no ${_vanillaMissing[*]} (nixpkgs older than mid-2023, or not nixpkgs' generic stdenv); nix-vanilla needs a setup.sh that defines runPhase and runHook (nixpkgs from mid-2023 on; tested with mid-2024's)" >&2
    return 1
}

# _vanillaWrap NAME: keep the current definition of function NAME as
# _vanillaOrig_NAME.
_vanillaWrap() {
    local _vanillaDef
    _vanillaDef=$(declare -f "$1")
    eval "_vanillaOrig_${_vanillaDef}"
}

# The checkpoint output of the first two stages is the hook's: the
# package's own hooks and phases see the outputs the package declares, and
# nothing else.
_vanillaHideCheckpointOutput() {
    _vanillaCheckpoint=${checkpoint:?vanilla: the stage has no checkpoint output}
    if [[ -n "${__structuredAttrs-}" ]]; then
        unset 'outputs[checkpoint]'
    else
        local _vanillaO _vanillaKept=()
        for _vanillaO in $outputs; do
            [[ "$_vanillaO" == checkpoint ]] || _vanillaKept+=("$_vanillaO")
        done
        outputs="${_vanillaKept[*]}"
    fi
    unset -v checkpoint
}

# _vanillaSplitPoints: find in $phases the last phase of the checkpoint
# stage (buildPhase, or the last of configure/patch/unpack when there is no
# buildPhase), the last of the unwrapped stage (installPhase, or the phase
# before fixupPhase), and unpackPhase.
_vanillaSplitPoints() {
    local _vanillaP _vanillaI=0 _vanillaFallback=-1 _vanillaFixup=-1
    _vanillaEarlyEnd=-1
    _vanillaInstallEnd=-1
    _vanillaUnpackAt=-1
    # Phase names hold no blanks; ${phases[*]} reads both a string and an
    # array (structured attributes), as genericBuild does.
    # shellcheck disable=SC2048
    for _vanillaP in ${phases[*]}; do
        case "$_vanillaP" in
            unpackPhase)
                ((_vanillaUnpackAt >= 0)) || _vanillaUnpackAt=$_vanillaI
                _vanillaFallback=$_vanillaI
                ;;
            patchPhase | configurePhase) _vanillaFallback=$_vanillaI ;;
            buildPhase) ((_vanillaEarlyEnd < 0)) && _vanillaEarlyEnd=$_vanillaI ;;
            installPhase) ((_vanillaInstallEnd < 0)) && _vanillaInstallEnd=$_vanillaI ;;
            fixupPhase) ((_vanillaFixup < 0)) && _vanillaFixup=$_vanillaI ;;
        esac
        _vanillaI=$((_vanillaI + 1))
    done
    if ((_vanillaEarlyEnd < 0)); then
        _vanillaEarlyEnd=$_vanillaFallback
    fi
    if ((_vanillaInstallEnd < 0)); then
        if ((_vanillaFixup >= 0)); then
            _vanillaInstallEnd=$((_vanillaFixup - 1))
        else
            _vanillaInstallEnd=$((_vanillaI - 1))
        fi
    fi
    if ((_vanillaInstallEnd < _vanillaEarlyEnd)); then
        _vanillaInstallEnd=$_vanillaEarlyEnd
    fi
    return 0
}

# _vanillaDeclareAssoc: print each associative array that has elements as
# one line `vanillaAssoc FLAGS NAME KEY VALUE…` of quoted words. `declare -p`
# prints a key such as `%` bare inside [ ], which no shell parser but bash's
# reads back.
_vanillaDeclareAssoc() {
    local _vanillaV _vanillaK
    for _vanillaV in $(compgen -A arrayvar); do
        local -n _vanillaRef="$_vanillaV"
        if [[ "${_vanillaRef@a}" == *A* ]]; then
            printf 'vanillaAssoc %s %s' "${_vanillaRef@a}" "$_vanillaV"
            for _vanillaK in "${!_vanillaRef[@]}"; do
                printf ' %s %s' "${_vanillaK@Q}" "${_vanillaRef[$_vanillaK]@Q}"
            done
            printf '\n'
        fi
        unset -n _vanillaRef
    done
}

# _vanillaDumpState DIR: write the shell state (variables, functions,
# options, working directory) the way the helper reads it.
# It fails, without stopping the build, when a file cannot be written.
_vanillaDumpState() {
    # From genericBuild's hook points, `declare -p` would see runHook's
    # locals, whose values differ from one point to the next: unset
    # locals of the same names hide them.
    if [[ -n "${_vanillaPhaseHooks-}" ]]; then
        # shellcheck disable=SC2034 # declared to hide the callers'
        local hookName hooksSlice hook
    fi
    mkdir -p "$1" || return 1
    # bash leaves its dynamic DIRSTACK out of a bare `declare -p`.
    {
        declare -p
        declare -p DIRSTACK
    } >"$1/vars.sh" || return 1
    _vanillaDeclareAssoc >"$1/assoc.sh" || return 1
    declare -f >"$1/funcs.sh" || return 1
    {
        shopt -p
        set +o
        umask -p
    } >"$1/opts.sh" || return 1
    pwd >"$1/cwd"
}

# _vanillaOutputArgs: fill _vanillaArgs with -output NAME=PATH for each
# output the package declares.
_vanillaOutputArgs() {
    local _vanillaO
    _vanillaArgs=()
    for _vanillaO in $(getAllOutputNames); do
        _vanillaArgs+=(-output "$_vanillaO=${!_vanillaO}")
    done
}

# _vanillaMakeOutputs: create outputs the stage left absent, which Nix
# requires. They are saved as absent, so the next stage does not see them.
_vanillaMakeOutputs() {
    local _vanillaO
    for _vanillaO in $(getAllOutputNames); do
        [[ -e "${!_vanillaO}" ]] || mkdir -p "${!_vanillaO}"
    done
}

# Runs before the stage's first phase: restores the previous stage.
_vanillaBegin() {
    _vanillaSplitPoints
    _vanillaTrapsAtStart=$(trap -p)
    _vanillaDumpState "$_vanillaWork/fresh"
    case "$vanillaStage" in
        vanilla)
            echo "vanilla: vanilla stage: running the phases up to buildPhase"
            _vanillaCheckBuildPhase
            _vanillaGuardLateFunctions
            ;;
        unwrapped)
            echo "vanilla: unwrapped stage: restoring the checkpoint, then running postBuild to installPhase"
            _vanillaRestore -top "$NIX_BUILD_TOP" -restored "$_vanillaWork/restored"
            if [[ -n "${vanillaRunPostBuild-}" ]]; then
                unset -v vanillaRunPostBuild
                _vanillaOrig_runHook postBuild
            fi
            ;;
        final)
            if [[ -n "${doInstallCheck-}" || -n "${vanillaFinalTree-}" ]]; then
                echo "vanilla: final stage: restoring the installed outputs and the build tree (installCheckPhase or vanillaFinalTree reads it), then running fixupPhase and after"
                _vanillaRestore -top "$NIX_BUILD_TOP" -tree
            else
                echo "vanilla: final stage: restoring the installed outputs, then running fixupPhase and after"
                _vanillaRestore -top "$NIX_BUILD_TOP"
            fi
            rm -rf "$_vanillaWork"
            local _vanillaHook
            # restore.sh sets _vanillaLateInstallHooks.
            for _vanillaHook in "${_vanillaLateInstallHooks[@]}"; do
                echo "vanilla: running $_vanillaHook, an install hook of an input the earlier stages did not have"
                _eval "$_vanillaHook"
            done
            ;;
    esac
}

# _vanillaRestore FLAGS…: restore the checkpoint in $vanillaFrom. The
# unwrapped stage needs the source unpacked again: files the build did not
# touch come from it, not from the checkpoint. The helper brings them back
# itself (faster: it writes only those files, on several cores, while it
# verifies the checkpoint) from the checkpoint's source copy when it has
# one (vanillaSourceCopy), or else from the sources when unpackPhase is
# stdenv's own; when it cannot reproduce them exactly it changes nothing
# and exits with status 4, and unpackPhase runs as in a plain build.
_vanillaRestore() {
    local _vanillaArgs _vanillaSrcArgs _vanillaSrcs _vanillaWhy _vanillaUnpack='' _vanillaRc=4
    local _vanillaRestoreArgs=(restore -stage "$vanillaStage" -from "${vanillaFrom:?vanilla: vanillaFrom is not set}"
        -fresh "$_vanillaWork/fresh" -script "$_vanillaWork/restore.sh" -builder-pid "$$")
    if [[ "$vanillaStage" == unwrapped || " $* " == *" -tree "* ]] && ((_vanillaUnpackAt >= 0 && _vanillaUnpackAt <= _vanillaEarlyEnd)); then
        _vanillaUnpack=1
    fi
    _vanillaOutputArgs
    if [[ -n "$_vanillaUnpack" ]]; then
        _vanillaSourceArgs
        # The snapshot after the unpack is for a save of the tree alone.
        if [[ "$vanillaStage" == unwrapped && -n "${vanillaSaveTree-}" ]]; then
            _vanillaSrcArgs+=(-snapshot "$_vanillaWork/snapshot")
        fi
        _vanillaRc=0
        "$_vanillaHelper" "${_vanillaRestoreArgs[@]}" "${_vanillaSrcArgs[@]}" "${_vanillaArgs[@]}" "$@" || _vanillaRc=$?
        ((_vanillaRc == 0 || _vanillaRc == 4)) || return "$_vanillaRc"
    fi
    if ((_vanillaRc == 4)); then
        if [[ -n "$_vanillaUnpack" ]]; then
            local _vanillaStart=$EPOCHREALTIME
            if [[ -n "$_vanillaWhy" ]]; then
                echo "vanilla: unpacking the source again with unpackPhase: $_vanillaWhy"
            fi
            _vanillaOrig_runPhase unpackPhase
            echo "vanilla: unpacked the source again for the files the build left alone, $(_vanillaSince "$_vanillaStart") s"
            if [[ "$vanillaStage" == unwrapped && -n "${vanillaSaveTree-}" ]]; then
                "$_vanillaHelper" snapshot -top "$NIX_BUILD_TOP" -to "$_vanillaWork/snapshot"
            fi
        fi
        "$_vanillaHelper" "${_vanillaRestoreArgs[@]}" "${_vanillaArgs[@]}" "$@"
    fi
    # shellcheck source=/dev/null
    source "$_vanillaWork/restore.sh"
}

# _vanillaSourceArgs: set _vanillaSrcArgs to the helper's flags for
# bringing back the files the build left alone itself: -source-copy (the
# checkpoint's copy of them, when it has one), and -src for each of
# $srcs, or $src, as unpackPhase reads them (also in _vanillaSrcs) when
# unpackPhase is stdenv's default one. When it is not, _vanillaWhy says
# why: dontUnpack, an unpackPhase or unpackCmd of the package's, code in
# preUnpack or postUnpack or their hooks (but stdenv's own, which sets
# SOURCE_DATE_EPOCH: shell state, replayed after the restore). The
# helper checks what it unpacks by content, so this only saves attempts
# that would fail.
_vanillaSourceArgs() {
    _vanillaSrcArgs=(-source-copy -threads "${NIX_BUILD_CORES:-0}")
    _vanillaSrcs=()
    _vanillaWhy=''
    local _vanillaH _vanillaS
    if [[ -n "${dontUnpack-}" ]]; then
        _vanillaWhy="dontUnpack is set"
    elif [[ -n "${unpackPhase-}" ]]; then
        _vanillaWhy="the package has its own unpackPhase"
    fi
    for _vanillaH in preUnpack postUnpack unpackCmd; do
        if [[ -n "${!_vanillaH-}" ]] || declare -F "$_vanillaH" >/dev/null; then
            _vanillaWhy="the package has a $_vanillaH"
        fi
    done
    for _vanillaH in preUnpack postUnpack; do
        if declare -p "${_vanillaH}Hooks" >/dev/null 2>&1; then
            eval "local -a _vanillaHs=(\"\${${_vanillaH}Hooks[@]}\")"
            for _vanillaS in "${_vanillaHs[@]}"; do
                [[ "$_vanillaS" == _updateSourceDateEpochFromSourceRoot ]] || _vanillaWhy="$_vanillaH runs $_vanillaS"
            done
        fi
    done
    [[ -z "$_vanillaWhy" ]] || return 0
    if [[ -n "${srcs:-}" ]]; then
        if [[ -n "${__structuredAttrs-}" ]]; then
            _vanillaSrcs=("${srcs[@]}")
        else
            # shellcheck disable=SC2206 # split as unpackPhase splits it
            _vanillaSrcs=($srcs)
        fi
    elif [[ -n "${src:-}" ]]; then
        # shellcheck disable=SC2206
        _vanillaSrcs=($src)
    else
        _vanillaWhy="the package has neither src nor srcs"
    fi
    for _vanillaS in "${_vanillaSrcs[@]}"; do
        _vanillaSrcArgs+=(-src "$_vanillaS")
    done
}

# _vanillaSourceCopyArgs: set _vanillaCopyArgs to the flags that decide
# the copy of the files the build left alone: vanillaSourceCopy (true,
# false, unset: the helper decides from their size and the sources'
# formats, which it is given when it could unpack them).
_vanillaSourceCopyArgs() {
    local _vanillaSrcArgs _vanillaSrcs _vanillaWhy _vanillaS
    _vanillaCopyArgs=(-source-copy "${vanillaSourceCopy-auto}")
    _vanillaSourceArgs
    for _vanillaS in "${_vanillaSrcs[@]}"; do
        _vanillaCopyArgs+=(-src "$_vanillaS")
    done
}

# _vanillaStartPrepare: after the snapshot, start the helper's background
# pass over the files the build may leave alone (their digests, and the
# frames of a source copy when the save is likely to write one), which
# the save takes what still holds from (`vanilla prepare`; the save's
# -prepared stops it). It runs at the lowest CPU priority and is not a
# job of this shell; when it cannot start, the save does all the work.
_vanillaStartPrepare() {
    local _vanillaCopyArgs
    _vanillaSourceCopyArgs
    "$_vanillaHelper" prepare -top "$NIX_BUILD_TOP" -snapshot "$_vanillaWork/snapshot" -to "$_vanillaWork/prepared" \
        -builder-pid "$$" "${_vanillaCopyArgs[@]}" || {
        echo "vanilla: could not start the background pass (see above); the save does its work"
        rm -rf "$_vanillaWork/prepared"
    }
}

# _vanillaSince START: seconds since $EPOCHREALTIME was START, to 0.01 s.
_vanillaSince() {
    local _vanillaNow=$EPOCHREALTIME
    local _vanillaCs=$(((${_vanillaNow/./} - ${1/./}) / 10000))
    printf '%d.%02d' $((_vanillaCs / 100)) $((_vanillaCs % 100))
}

# _vanillaTrapsChanged: whether the phases set or removed a trap since
# the first phase (trap 'rm -rf x' EXIT in preBuild), which the shell
# state does not carry: a stage that ends before the build does would run
# an EXIT trap too early, and a later stage or a resumed build would not
# have it. Sets _vanillaTraps to the traps now.
_vanillaTrapsChanged() {
    _vanillaTraps=$(trap -p)
    [[ "$_vanillaTraps" != "${_vanillaTrapsAtStart-}" ]]
}

# _vanillaRefuseTraps: fail a stage that ends before the build does when
# its phases set or removed a trap.
_vanillaRefuseTraps() {
    local _vanillaTraps
    _vanillaTrapsChanged || return 0
    echo "vanilla: a phase set or removed a trap (now: ${_vanillaTraps:-none}); the $vanillaStage stage ends before the build does, so an EXIT trap would run here, and the later stages would not have it: use exitHooks+=(FUNCTION), which setup.sh runs at the end of the build, or vanillaPackage = false" >&2
    return 1
}

# Runs after the vanilla stage's last phase.
_vanillaSaveCheckpoint() {
    local _vanillaArgs _vanillaSnapshot=() _vanillaCopyArgs
    _vanillaRefuseTraps || return 1
    _vanillaDumpState "$_vanillaWork/end"
    _vanillaOutputArgs
    if [[ -e "$_vanillaWork/snapshot" ]]; then
        _vanillaSourceCopyArgs
        _vanillaSnapshot=(-snapshot "$_vanillaWork/snapshot" "${_vanillaCopyArgs[@]}")
        [[ ! -d "$_vanillaWork/prepared" ]] || _vanillaSnapshot+=(-prepared "$_vanillaWork/prepared")
    fi
    "$_vanillaHelper" save -stage vanilla -name "$name" -to "$_vanillaCheckpoint" -top "$NIX_BUILD_TOP" \
        "${_vanillaSnapshot[@]}" -fresh "$_vanillaWork/fresh" -end "$_vanillaWork/end" -take-outputs -builder-pid "$$" "${_vanillaArgs[@]}"
    rm -rf "$_vanillaWork"
    _vanillaMakeOutputs
}

# Runs after the unwrapped stage's last phase. The build tree is saved
# too when the split says a final stage reads it (vanillaSaveTree: its
# doInstallCheck or vanillaFinalTree is set).
_vanillaSaveInstalled() {
    local _vanillaArgs _vanillaSnapshot=() _vanillaTree=()
    _vanillaRefuseTraps || return 1
    _vanillaDumpState "$_vanillaWork/end"
    _vanillaOutputArgs
    if [[ -e "$_vanillaWork/snapshot" ]]; then
        _vanillaSnapshot=(-snapshot "$_vanillaWork/snapshot")
    fi
    [[ -z "${vanillaSaveTree-}" ]] || _vanillaTree=(-tree)
    "$_vanillaHelper" save -stage unwrapped -name "$name" -to "$_vanillaCheckpoint" -top "$NIX_BUILD_TOP" "${_vanillaTree[@]}" \
        -restored "$_vanillaWork/restored" "${_vanillaSnapshot[@]}" \
        -from "${vanillaFrom:?vanilla: vanillaFrom is not set}" -fresh "$_vanillaWork/fresh" -end "$_vanillaWork/end" -builder-pid "$$" "${_vanillaArgs[@]}"
    rm -rf "$_vanillaWork"
    _vanillaMakeOutputs
}

# runPhase, wrapped: each stage runs its own share of the phases.
_vanillaRunPhase() {
    _vanillaBeforePhase "$1"
    [[ -z "$_vanillaSkip" ]] || return 0
    _vanillaOrig_runPhase "$@"
    _vanillaAfterPhase "$1"
}

# _vanillaBeforePhase PHASE: before each phase of $phases, whether this
# stage runs it; the first call begins the stage (restores the previous
# one).
_vanillaBeforePhase() {
    if [[ -z "${_vanillaIndex-}" ]]; then
        _vanillaIndex=0
        _vanillaBegin
        if [[ "$vanillaStage" == vanilla ]] && ((_vanillaEarlyEnd < 0)); then
            _vanillaSaveCheckpoint
        elif [[ "$vanillaStage" == unwrapped ]] && ((_vanillaInstallEnd == _vanillaEarlyEnd)); then
            _vanillaSaveInstalled
        fi
    fi
    _vanillaAt=$_vanillaIndex
    _vanillaIndex=$((_vanillaIndex + 1))
    _vanillaSkip=
    case "$vanillaStage" in
        vanilla)
            ((_vanillaAt <= _vanillaEarlyEnd)) || _vanillaSkipPhase
            if [[ -z "$_vanillaSkip" && "$1" == buildPhase ]]; then
                _vanillaInBuild=1
                _vanillaIsEarly postBuild || _vanillaHoldPostBuild
            fi
            ;;
        unwrapped)
            ((_vanillaAt > _vanillaEarlyEnd && _vanillaAt <= _vanillaInstallEnd)) || _vanillaSkipPhase
            ;;
        final)
            ((_vanillaAt > _vanillaInstallEnd)) || _vanillaSkipPhase
            ;;
    esac
}

# _vanillaAfterPhase PHASE: after each phase the stage ran; the vanilla
# stage saves its checkpoint after its last, the unwrapped stage the
# installed outputs after its last.
_vanillaAfterPhase() {
    case "$vanillaStage" in
        vanilla)
            _vanillaInBuild=
            _vanillaReleasePostBuild
            if [[ -e "$_vanillaWork/late-call" ]]; then
                echo "vanilla: $1 called a function of a late input (see above)" >&2
                return 1
            fi
            if [[ "$1" == unpackPhase ]]; then
                "$_vanillaHelper" snapshot -top "$NIX_BUILD_TOP" -to "$_vanillaWork/snapshot"
                _vanillaStartPrepare
            fi
            if ((_vanillaAt == _vanillaEarlyEnd)); then
                _vanillaSaveCheckpoint
            fi
            ;;
        unwrapped)
            if ((_vanillaAt == _vanillaInstallEnd)); then
                _vanillaSaveInstalled
            fi
            ;;
    esac
}

# _vanillaIsEarly NAME: whether the split kept attribute NAME, late by its
# class, in the vanilla stage (vanillaEarlyAttrs).
_vanillaIsEarly() {
    local _vanillaA
    # shellcheck disable=SC2048
    for _vanillaA in ${vanillaEarlyAttrs[*]-}; do
        [[ "$_vanillaA" != "$1" ]] || return 0
    done
    return 1
}

# _vanillaCheckBuildPhase: the split defers `runHook postBuild` to the
# unwrapped stage, so a buildPhase with commands after it would run them
# before the package's postBuild. Fail now, before any phase, with the fix.
_vanillaCheckBuildPhase() {
    _vanillaIsEarly postBuild && return 0
    ((_vanillaEarlyEnd >= 0)) || return 0
    [[ " ${phases[*]} " == *" buildPhase "* ]] || return 0
    if [[ -n "${buildPhase-}" ]]; then
        printf '%s\n' "$buildPhase"
    else
        declare -f buildPhase
    fi | "$_vanillaHelper" check-phase -phase buildPhase -hook postBuild
}

# _vanillaGuardLateFunctions: the vanilla stage lacks the late inputs
# (makeWrapper…). A call to one of their functions is the split's mistake,
# never the package's: say so and fail the phase, even where the package
# ignores the status.
_vanillaGuardLateFunctions() {
    local _vanillaFn _vanillaHook
    declare -gA _vanillaLateFunctions=()
    while read -r _vanillaFn _vanillaHook; do
        declare -F "$_vanillaFn" >/dev/null || _vanillaLateFunctions[$_vanillaFn]=$_vanillaHook
    done < <("$_vanillaHelper" late-functions)
    ((${#_vanillaLateFunctions[@]} > 0)) || return 0
    declare -F command_not_found_handle >/dev/null && return 0
    command_not_found_handle() {
        if [[ -n "${_vanillaLateFunctions[$1]-}" ]]; then
            echo "vanilla: $1 comes from ${_vanillaLateFunctions[$1]}, a late input the vanilla stage does not have, but ${curPhase:-a phase} calls it; add the input to vanillaEarlyInputs (or call $1 from postInstall or later)" >&2
            : >"$_vanillaWork/late-call"
        else
            echo "${BASH_SOURCE[1]:-bash}: $1: command not found" >&2
        fi
        return 127
    }
}

# runHook, wrapped: the vanilla stage defers `runHook postBuild` (the
# package's postBuild and the postBuildHooks) to the unwrapped stage, which
# runs it first; postBuild is a late attribute.
_vanillaRunHook() {
    if [[ "$1" == postBuild && -n "${_vanillaInBuild-}" ]] && ! _vanillaIsEarly postBuild; then
        vanillaRunPostBuild=1
        return 0
    fi
    _vanillaOrig_runHook "$@"
}

# Hook mode ----------------------------------------------------------------

# _vanillaCacheSetup: wrap runPhase and runHook for hook mode, unless the
# build runs again from scratch (VANILLA_CACHE_OFF says why).
_vanillaCacheSetup() {
    if [[ -n "${VANILLA_CACHE_OFF-}" ]]; then
        echo "vanilla: not using the cache: $VANILLA_CACHE_OFF"
        return 0
    fi
    if [[ -n "${buildCommand-}" || -n "${buildCommandPath-}" ]]; then
        echo "vanilla: the build is a buildCommand, which has no phases to resume; building as usual"
        return 0
    fi
    if _vanillaHasPhaseHooks; then
        _vanillaUsePhaseHooks _vanillaCacheBeforePhase _vanillaCacheAfterPhase
        return 0
    fi
    _vanillaWrap runPhase
    _vanillaWrap runHook
    runPhase() { _vanillaCacheRunPhase "$@"; }
    runHook() { _vanillaCacheRunHook "$@"; }
}

# _vanillaCacheBegin: before the first phase, look the build up.
_vanillaCacheBegin() {
    local _vanillaDecision
    _vanillaSplitPoints
    _vanillaCacheMode=off
    # The lookup makes the hook's work directory, in the cache.
    if ! _vanillaDecision=$("$_vanillaHelper" cache lookup -dir "${vanillaCacheDir-}" -name "$name" \
        -builder-pid "$$"); then
        echo "vanilla: the cache lookup failed (see above); building as usual"
        return 0
    fi
    eval "$_vanillaDecision"
    [[ "$_vanillaCacheMode" != off ]] || return 0
    _vanillaTrapsAtStart=$(trap -p)
    if ! _vanillaDumpState "$_vanillaWork/fresh" 2>/dev/null; then
        echo "vanilla: cannot write the hook's work directory in the cache (is it full?); building as usual"
        rm -rf "$_vanillaWork"
        _vanillaCacheMode=off
        return 0
    fi
    # A buildPhase that runs commands after `runHook postBuild` gives no
    # resume point after it: the point is before the package's postBuild.
    _vanillaCacheBuildPoint=1
    _vanillaCacheDefer=
    if ((_vanillaEarlyEnd < 0)); then
        _vanillaCacheBuildPoint=
    elif ! _vanillaIsEarly postBuild; then
        _vanillaCacheDefer=1
        if ! _vanillaCheckBuildPhase 2>/dev/null; then
            echo "vanilla: buildPhase runs commands after runHook postBuild: no resume point after buildPhase, only after installPhase"
            _vanillaCacheBuildPoint=
            _vanillaCacheDefer=
        fi
    fi
    if [[ "$_vanillaCacheMode" == hit ]]; then
        _vanillaCacheResume
    fi
}

# _vanillaCacheResume: restore the entry found; on any failure, run the
# build again from scratch.
_vanillaCacheResume() {
    local _vanillaArgs _vanillaSrcArgs _vanillaRc=4
    _vanillaOutputArgs
    local _vanillaRestoreArgs=(cache restore -dir "$_vanillaCacheDir" -key "$_vanillaCacheKey" -point "$_vanillaCachePoint"
        -top "$NIX_BUILD_TOP" -fresh "$_vanillaWork/fresh" -script "$_vanillaWork/restore.sh"
        -earlier "$_vanillaWork/earlier" -builder-pid "$$" "${_vanillaArgs[@]}")
    # As _vanillaRestore: the helper unpacks the source itself, or exits
    # with status 4 having changed nothing, and unpackPhase runs.
    if ((_vanillaUnpackAt >= 0 && _vanillaUnpackAt <= _vanillaEarlyEnd)); then
        local _vanillaSrcs _vanillaWhy
        _vanillaSourceArgs
        _vanillaRc=0
        "$_vanillaHelper" "${_vanillaRestoreArgs[@]}" "${_vanillaSrcArgs[@]}" || _vanillaRc=$?
        if ((_vanillaRc == 4)); then
            if [[ -n "$_vanillaWhy" ]]; then
                echo "vanilla: unpacking the source again with unpackPhase: $_vanillaWhy"
            fi
            _vanillaOrig_runPhase unpackPhase
        fi
    fi
    if ((_vanillaRc == 4)); then
        _vanillaRc=0
        "$_vanillaHelper" "${_vanillaRestoreArgs[@]}" || _vanillaRc=$?
    fi
    if ((_vanillaRc != 0)); then
        _vanillaCacheRerun "restoring cache entry ${_vanillaCacheKey:0:12} failed"
    fi
    # shellcheck source=/dev/null
    source "$_vanillaWork/restore.sh"
    # From here on (no state is dumped after a resume), a failure may be
    # the entry's: start again without it.
    # So may be success: outputs that hold the earlier invocation's store
    # hashes where no rewrite reached (a compressed build-tree file
    # installed after the point).
    failureHooks+=(_vanillaCacheFailed)
    exitHooks+=(_vanillaCacheCheck _vanillaCacheDone)
    if [[ "$_vanillaCachePoint" == build ]]; then
        _vanillaResumeAt=$_vanillaEarlyEnd
        if [[ -n "$_vanillaCacheDefer" ]]; then
            _vanillaOrig_runHook postBuild
        fi
    else
        _vanillaResumeAt=$_vanillaInstallEnd
        local _vanillaHook
        for _vanillaHook in "${_vanillaLateInstallHooks[@]}"; do
            _eval "$_vanillaHook"
        done
    fi
}

# _vanillaCacheRerun REASON: run the build again from scratch.
_vanillaCacheRerun() {
    local _vanillaArgs
    _vanillaOutputArgs
    cd "$NIX_BUILD_TOP" || return 1
    # The helper takes the builder's place (its process), empties the
    # build, and executes the builder again.
    exec "$_vanillaHelper" cache rerun -dir "$_vanillaCacheDir" -key "$_vanillaCacheKey" -work "$_vanillaWork" \
        -top "$NIX_BUILD_TOP" -reason "$1" "${_vanillaArgs[@]}"
}

# exitHook: the work directory goes with the build.
_vanillaCacheDone() {
    rm -rf "$_vanillaWork"
}

# exitHook after a resume: the outputs must not hold the store hashes of
# the invocation that stored the entry.
_vanillaCacheCheck() {
    local _vanillaArgs
    _vanillaOutputArgs
    if ! "$_vanillaHelper" cache check -earlier "$_vanillaWork/earlier" "${_vanillaArgs[@]}"; then
        trap - EXIT
        _vanillaCacheRerun "the outputs hold store hashes of the build that stored cache entry ${_vanillaCacheKey:0:12} (see above)"
    fi
}

# failureHook after a resume: the phases after the point failed, maybe
# because of the entry.
_vanillaCacheFailed() {
    trap - EXIT
    _vanillaCacheRerun "${curPhase:-a phase} failed after resuming from cache entry ${_vanillaCacheKey:0:12}"
}

# _vanillaCacheStore POINT: store an entry at POINT; never fails.
_vanillaCacheStore() {
    local _vanillaArgs _vanillaSnapshot=() _vanillaTraps
    if _vanillaTrapsChanged; then
        echo "vanilla: not storing a cache entry after ${1}Phase: a phase set or removed a trap (now: ${_vanillaTraps:-none}), which a resumed build would not have (exitHooks+=(FUNCTION) would be kept); the build goes on"
        return 0
    fi
    if ! _vanillaDumpState "$_vanillaWork/end-$1" 2>/dev/null; then
        echo "vanilla: could not store the cache entry: cannot write the hook's work directory in the cache (is it full?); the build goes on"
        rm -rf "$_vanillaWork/end-$1"
        return 0
    fi
    _vanillaOutputArgs
    if [[ -e "$_vanillaWork/snapshot" ]]; then
        _vanillaSnapshot=(-snapshot "$_vanillaWork/snapshot")
        [[ ! -d "$_vanillaWork/prepared" ]] || _vanillaSnapshot+=(-prepared "$_vanillaWork/prepared")
    fi
    # A source copy for the entry after buildPhase only (resuming after
    # installPhase unpacks the sources): the cache holds one per build.
    if [[ -e "$_vanillaWork/snapshot" && "$1" == build ]]; then
        local _vanillaCopyArgs
        _vanillaSourceCopyArgs
        _vanillaSnapshot+=("${_vanillaCopyArgs[@]}")
    fi
    "$_vanillaHelper" cache store -dir "$_vanillaCacheDir" -point "$1" -name "$name" -top "$NIX_BUILD_TOP" \
        "${_vanillaSnapshot[@]}" -fresh "$_vanillaWork/fresh" -end "$_vanillaWork/end-$1" \
        ${vanillaCacheMaxSize:+-max-size "$vanillaCacheMaxSize"} -builder-pid "$$" "${_vanillaArgs[@]}" ||
        echo "vanilla: could not store the cache entry (see above); the build goes on"
    rm -rf "$_vanillaWork/end-$1"
}

# runPhase in hook mode.
_vanillaCacheRunPhase() {
    _vanillaCacheBeforePhase "$1"
    [[ -z "$_vanillaSkip" ]] || return 0
    _vanillaOrig_runPhase "$@"
    _vanillaCacheAfterPhase "$1"
}

# _vanillaCacheBeforePhase PHASE: the first call looks the build up; after
# a hit, the phases up to the resume point are skipped.
_vanillaCacheBeforePhase() {
    if [[ -z "${_vanillaIndex-}" ]]; then
        _vanillaIndex=0
        _vanillaCacheBegin
    fi
    _vanillaAt=$_vanillaIndex
    _vanillaIndex=$((_vanillaIndex + 1))
    _vanillaSkip=
    case "$_vanillaCacheMode" in
        hit)
            ((_vanillaAt > _vanillaResumeAt)) || _vanillaSkipPhase
            ;;
        miss)
            if [[ "$1" == buildPhase && -n "$_vanillaCacheDefer" ]]; then
                _vanillaInBuild=1
                _vanillaHoldPostBuild
            fi
            ;;
    esac
}

# _vanillaCacheAfterPhase PHASE: on a miss, store the entries at the
# resume points.
_vanillaCacheAfterPhase() {
    [[ "$_vanillaCacheMode" == miss ]] || return 0
    _vanillaInBuild=
    _vanillaReleasePostBuild
    if [[ "$1" == unpackPhase ]]; then
        if "$_vanillaHelper" snapshot -top "$NIX_BUILD_TOP" -to "$_vanillaWork/snapshot"; then
            _vanillaStartPrepare
        else
            rm -f "$_vanillaWork/snapshot"
        fi
    fi
    if ((_vanillaAt == _vanillaEarlyEnd)) && [[ -n "$_vanillaCacheBuildPoint" ]]; then
        _vanillaCacheStore build
        if [[ -n "${vanillaRunPostBuild-}" ]]; then
            unset -v vanillaRunPostBuild
            _vanillaOrig_runHook postBuild
        fi
    fi
    if ((_vanillaAt == _vanillaInstallEnd)); then
        _vanillaCacheStore install
        # After the last state dump: the entries must not record
        # the hook's own exit hooks (a resume replays them).
        exitHooks+=(_vanillaCacheDone)
        failureHooks+=(_vanillaCacheDone)
    fi
}

# runHook in hook mode: on a miss, `runHook postBuild` waits until the
# build point is stored, as in the pure split's vanilla stage.
_vanillaCacheRunHook() {
    if [[ "$1" == postBuild && -n "${_vanillaInBuild-}" ]]; then
        vanillaRunPostBuild=1
        return 0
    fi
    _vanillaOrig_runHook "$@"
}

postHooks+=(vanillaSetupHook)
