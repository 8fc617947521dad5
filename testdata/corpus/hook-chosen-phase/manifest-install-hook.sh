# shellcheck shell=bash
# Installs the files listed in the build's install.manifest ("mode source
# destination" lines, destination relative to $out). Chosen as installPhase
# after configure when the package sets none.

manifestInstallPhase() {
    runHook preInstall
    local mode src dest
    while read -r mode src dest; do
        install -D -m "$mode" "$src" "$out/$dest"
        echo "manifest: installed $dest"
    done < install.manifest
    runHook postInstall
}

_manifestChooseInstall() {
    if [ -z "${installPhase-}" ]; then
        installPhase=manifestInstallPhase
    fi
}

postConfigureHooks+=(_manifestChooseInstall)
