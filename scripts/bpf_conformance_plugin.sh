#!/usr/bin/env bash
# bpf_conformance runs `<plugin_path> [<memory hex>] [<plugin_options>...]`; rvbpf's plugin
# mode is a subcommand, so this wrapper puts `plugin` first. Pass it as --plugin_path.
exec "$(dirname "$0")/../target/release/rvbpf" plugin "$@"
