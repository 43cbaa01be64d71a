// Package azuritetest starts Azurite (the Azure Storage emulator, npm package azurite) for tests:
// a real Blob service on a free loopback port, in memory, with an account whose key is random
// (so that tests can check the key never leaks). Tests skip, saying how to install it, when the
// azurite-blob binary cannot be found: $AZURITE_BIN, then $PATH, then .tools/azurite (made by
// scripts/setup-azurite.sh) in the repository.
package azuritetest
