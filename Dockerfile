# The local stack of hiring-pipeline, `hiring dev --demo`, as a container
# image (README.md, "Container"):
#   docker build -t hiring-pipeline .
#   docker run --rm -p 8080:8080 -p 8081:8081 -p 8082:8082 hiring-pipeline
#
# The build stage compiles the hiring binary with the Go toolchain and gcc
# (DuckDB is C++, linked through cgo), and container/rootfs.sh lays out the
# runtime files beside it: the shared libraries, the user and the folders
# that container/runtime-files.txt lists. The runtime image is that tree and
# nothing else. container/container_test.go builds this file's last stage
# with buildah from the same script, and runs the stack in it.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN container/rootfs.sh /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin HOME=/data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["hiring", "health"]
ENTRYPOINT ["hiring"]
CMD ["dev", "--demo", "--host", "0.0.0.0", "--data-dir", "/data"]
