// Package container holds the files of the container image of the local
// stack (the Dockerfile at the repository's root builds it): rootfs.sh lays
// out the runtime files that runtime-files.txt lists, and this package's
// test builds the Dockerfile's last stage from them with buildah and runs
// the stack in it.
package container
