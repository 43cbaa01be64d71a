// Package testenv decides what a test does when a tool or fixture it needs from the machine is
// absent (ffmpeg, Azurite, chromium, the ONNX backend tests, the generated reference models).
//
// On a developer's machine such a test skips, naming what to install. With SLUICE_TEST_STRICT set
// (scripts/test.sh and so CI set it, after scripts/setup.sh installed everything) it fails instead,
// so a broken set-up can never turn the suite green by skipping.
package testenv
