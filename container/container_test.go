package container

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

const (
	// buildStage stands in for the Dockerfile's build stage: an image
	// whose /rootfs is what rootfs.sh lays out on this machine, as the build
	// stage's is in Docker.
	buildStage = "localhost/hiring-build-stage:test"
	// image is the Dockerfile's last stage, built by buildah.
	image = "localhost/hiring-pipeline:test"
	// httpPort and storagePort are the ports that the README publishes
	// with docker run -p.
	httpPort, storagePort = 8080, 8081
)

// TestImage builds the Dockerfile's last stage with buildah, from the files
// that rootfs.sh lays out on this machine, checks the image's configuration,
// then runs its ENTRYPOINT and CMD in a network namespace of its own, as
// Docker runs a container, and from outside it checks /healthz, the image's
// HEALTHCHECK, the demo data, a query, and a file uploaded to the landing
// bucket, which load-csv must load. It ends the stack as docker stop does.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a container image; not with -short")
	}
	requireTools(t)
	dir := t.TempDir()
	b := &buildah{t: t, global: []string{
		"--root", filepath.Join(dir, "storage"),
		"--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs",
	}}

	rootfs := filepath.Join(dir, "rootfs")
	command(t, "bash", "rootfs.sh", rootfs)
	ctr := b.run("from", "scratch")
	mnt := b.run("mount", ctr)
	// cp -a keeps the owners that rootfs.sh set, as the build stage does.
	command(t, "cp", "-a", rootfs, filepath.Join(mnt, "rootfs"))
	b.run("umount", ctr)
	b.run("commit", "--quiet", "--rm", ctr, buildStage)

	stage, from := runtimeStage(t, filepath.Join("..", "Dockerfile"))
	var dockerfile strings.Builder
	for _, name := range from {
		fmt.Fprintf(&dockerfile, "FROM %s AS %s\n", buildStage, name)
	}
	dockerfile.WriteString(stage)
	buildDir := filepath.Join(dir, "build")
	if err := os.Mkdir(buildDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(buildDir, "Dockerfile")
	if err := os.WriteFile(file, []byte(dockerfile.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("bud", "--isolation", "chroot", "--format", "docker", "--pull=never", "--tag", image, "--file", file, buildDir)
	t.Logf("image %s: %s", image, b.run("images", "--format", "{{.Size}}", image))

	cfg := imageConfig(t, b)
	uid := checkConfig(t, cfg)

	ns := newNetns(t)
	s := start(t, b, ns, slices.Concat(cfg.Entrypoint, cfg.Cmd))
	base := fmt.Sprintf("http://%s:%d", ns.inside, httpPort)
	s.waitFor("/healthz to answer 200", 2*time.Minute, func() (bool, error) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})

	pid := stackPID(t, ns)
	if got := processUID(t, pid); got != uid {
		t.Errorf("hiring dev runs as uid %d, want the image's user %d", got, uid)
	}
	if out, err := b.runIn(ns, slices.Concat([]string{"run", "--isolation", "chroot", s.container, "--"}, cfg.Healthcheck.Test[1:])...); err != nil {
		t.Errorf("the HEALTHCHECK %q failed: %v\n%s", cfg.Healthcheck.Test[1:], err, out)
	}

	var sc stack.Config
	getJSON(t, base+"/dev/config", &sc)
	ctx := context.Background()
	bq, err := bigquery.NewClient(ctx, sc.Project, option.WithEndpoint(base+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()

	demo := map[string]string{}
	s.waitFor("the demo files to be processed", 4*time.Minute, func() (bool, error) {
		rows, err := testutil.ReadRows(ctx, bq.Query(fmt.Sprintf("SELECT object, outcome FROM `%s.ingest_log`", sc.Dataset)))
		if err != nil {
			return false, err
		}
		for _, r := range rows {
			demo[r[0].(string)] = r[1].(string)
		}
		return len(demo) >= 3, nil
	})
	for _, name := range []string{"departments.csv", "jobs.csv", "hired_employees.csv"} {
		if demo[name] != "LOADED" {
			t.Errorf("demo file %s: outcome %q, want LOADED (ingest_log: %v)", name, demo[name], demo)
		}
	}
	rows := testutil.Query(t, bq.Query(fmt.Sprintf("SELECT COUNT(*) FROM `%s.hired_employees`", sc.Dataset)))
	if n := rows[0][0].(int64); n == 0 {
		t.Errorf("the demo loaded no hired_employees rows")
	}

	// The storage emulator is reached at the namespace's address, as a
	// client on Docker's host reaches a published port.
	t.Setenv("STORAGE_EMULATOR_HOST", fmt.Sprintf("%s:%d", ns.inside, storagePort))
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	w := gcs.Bucket(sc.Buckets.Landing).Object("departments/from-the-container-test.csv").NewWriter(ctx)
	if _, err := w.Write([]byte("4242,Shipped in a container\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload to gs://%s: %v", sc.Buckets.Landing, err)
	}
	id := fmt.Sprintf("gs://%s/%s#%d", sc.Buckets.Landing, w.Attrs().Name, w.Attrs().Generation)
	var outcome string
	var loaded int64
	s.waitFor("load-csv to process "+id, 2*time.Minute, func() (bool, error) {
		q := bq.Query(fmt.Sprintf("SELECT outcome, rows_loaded FROM `%s.ingest_log` WHERE ingestion_id = @id", sc.Dataset))
		q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: id}}
		rows, err := testutil.ReadRows(ctx, q)
		if err != nil || len(rows) == 0 {
			return false, err
		}
		outcome, loaded = rows[0][0].(string), rows[0][1].(int64)
		return true, nil
	})
	if outcome != "LOADED" || loaded != 1 {
		t.Errorf("%s: outcome %s with %d rows loaded, want LOADED with 1", id, outcome, loaded)
	}
	rows = testutil.Query(t, bq.Query(fmt.Sprintf("SELECT department FROM `%s.departments` WHERE id = 4242", sc.Dataset)))
	if len(rows) != 1 || rows[0][0] != "Shipped in a container" {
		t.Errorf("department 4242: %v, want the uploaded row", rows)
	}

	// docker stop sends SIGTERM to the container's first process.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			t.Errorf("hiring dev did not stop cleanly on SIGTERM: %v", s.err)
		}
	case <-time.After(time.Minute):
		t.Errorf("hiring dev still runs a minute after SIGTERM")
	}
}

// requireTools skips the test when buildah, ip (iproute2) or root are
// missing, except in CI (CI=true), where it fails it: .ci/run installs them
// and runs as root.
func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"buildah", "ip", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (buildah's chroot isolation and network namespaces)")
	}
	if missing == nil {
		return
	}
	msg := "the container test needs " + strings.Join(missing, ", ") + " (Debian's buildah and iproute2 packages)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; .ci/run installs them")
	}
	t.Skip(msg)
}

// command runs a program and fails the test with its output if it fails.
func command(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// buildah runs buildah on a storage of the test's own.
type buildah struct {
	t      *testing.T
	global []string
}

// run runs buildah and returns its standard output, trimmed; it fails the
// test if buildah fails.
func (b *buildah) run(args ...string) string {
	b.t.Helper()
	cmd := exec.Command("buildah", slices.Concat(b.global, args)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// runIn runs buildah in the network namespace ns and returns its output.
func (b *buildah) runIn(ns netns, args ...string) ([]byte, error) {
	return exec.Command("ip", slices.Concat([]string{"netns", "exec", ns.name, "buildah"}, b.global, args)...).CombinedOutput()
}

// runtimeStage returns the text of the Dockerfile's last stage, which must
// start FROM scratch, and the names of the stages it copies from.
func runtimeStage(t *testing.T, path string) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	last := -1
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "FROM") {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("%s has no FROM", path)
	}
	if f := strings.Fields(lines[last]); len(f) < 2 || f[1] != "scratch" {
		t.Fatalf("%s: the last stage starts %q; the test builds it only FROM scratch", path, strings.TrimSpace(lines[last]))
	}
	stage := strings.Join(lines[last:], "")
	var from []string
	for _, m := range regexp.MustCompile(`--from=(\S+)`).FindAllStringSubmatch(stage, -1) {
		if !slices.Contains(from, m[1]) {
			from = append(from, m[1])
		}
	}
	if from == nil {
		t.Fatalf("%s: the last stage copies from no build stage", path)
	}
	return stage, from
}

// config is the part of a Docker image's configuration that the test reads.
type config struct {
	User        string
	Entrypoint  []string
	Cmd         []string
	Healthcheck *struct {
		Test []string
	}
	Volumes      map[string]struct{}
	ExposedPorts map[string]struct{}
}

func imageConfig(t *testing.T, b *buildah) config {
	t.Helper()
	var info struct {
		Docker struct {
			Config config `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(b.run("inspect", "--type", "image", image)), &info); err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	return info.Docker.Config
}

// checkConfig checks what the README promises of the image and returns the
// uid of its user.
func checkConfig(t *testing.T, c config) int {
	t.Helper()
	if !slices.Equal(c.Entrypoint, []string{"hiring"}) {
		t.Errorf("ENTRYPOINT %q, want [hiring]", c.Entrypoint)
	}
	if len(c.Cmd) == 0 || c.Cmd[0] != "dev" || !slices.Contains(c.Cmd, "--demo") {
		t.Errorf("CMD %q, want dev --demo ...", c.Cmd)
	}
	if i := slices.Index(c.Cmd, "--data-dir"); i < 0 || i+1 == len(c.Cmd) {
		t.Errorf("CMD %q has no --data-dir DIR", c.Cmd)
	} else if _, ok := c.Volumes[c.Cmd[i+1]]; !ok {
		t.Errorf("--data-dir %s is not a VOLUME (volumes: %v)", c.Cmd[i+1], c.Volumes)
	}
	for _, p := range []int{httpPort, storagePort} {
		if _, ok := c.ExposedPorts[fmt.Sprintf("%d/tcp", p)]; !ok {
			t.Errorf("port %d is not EXPOSEd (%v)", p, c.ExposedPorts)
		}
	}
	if c.Healthcheck == nil || len(c.Healthcheck.Test) < 2 || c.Healthcheck.Test[0] != "CMD" {
		t.Fatalf("HEALTHCHECK %+v, want CMD [...]", c.Healthcheck)
	}
	uid, err := strconv.Atoi(strings.Split(c.User, ":")[0])
	if err != nil || uid == 0 {
		t.Fatalf("USER %q, want a numeric user other than root", c.User)
	}
	return uid
}

// netns is a network namespace joined to the test's by a veth pair, as
// Docker joins a container's to its bridge.
type netns struct {
	name string
	// inside is the namespace's address, reachable from the test.
	inside string
}

// newNetns makes a network namespace with loopback and a veth pair whose
// /30 in 198.18.0.0/15 (RFC 2544's range for tests) comes from the test's
// pid, so that two runs on one machine do not clash. Cleanup kills what
// still runs in it and deletes it, with the pair.
func newNetns(t *testing.T) netns {
	t.Helper()
	pid := os.Getpid()
	off := (pid % 32768) * 4
	addr := func(host int) string {
		return fmt.Sprintf("198.%d.%d.%d", 18+off>>16, off>>8&255, off&255+host)
	}
	ns := netns{name: fmt.Sprintf("hiring-image-%d", pid), inside: addr(2)}
	outer, inner := fmt.Sprintf("hio%d", pid), fmt.Sprintf("hii%d", pid)
	command(t, "ip", "netns", "add", ns.name)
	t.Cleanup(func() {
		for _, p := range netnsPIDs(t, ns) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if out, err := exec.Command("ip", "netns", "delete", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", ns.name, err, out)
		}
	})
	command(t, "ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns.name)
	command(t, "ip", "addr", "add", addr(1)+"/30", "dev", outer)
	command(t, "ip", "link", "set", outer, "up")
	command(t, "ip", "-n", ns.name, "addr", "add", ns.inside+"/30", "dev", inner)
	command(t, "ip", "-n", ns.name, "link", "set", inner, "up")
	command(t, "ip", "-n", ns.name, "link", "set", "lo", "up")
	return ns
}

// netnsPIDs lists the processes in the namespace.
func netnsPIDs(t *testing.T, ns netns) []int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", ns.name).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", ns.name, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("ip netns pids %s: %q", ns.name, out)
		}
		pids = append(pids, p)
	}
	return pids
}

// stackPID returns the pid of the hiring process in the namespace.
func stackPID(t *testing.T, ns netns) int {
	t.Helper()
	var found []int
	for _, p := range netnsPIDs(t, ns) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if err == nil && strings.TrimSpace(string(comm)) == "hiring" {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("hiring processes in %s: %v, want one", ns.name, found)
	}
	return found[0]
}

// processUID returns the real uid of a process.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			uid, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("/proc/%d/status: %q", pid, l)
			}
			return uid
		}
	}
	t.Fatalf("/proc/%d/status has no Uid line", pid)
	return -1
}

// running is a container started with buildah run.
type running struct {
	t         *testing.T
	container string
	out       *testutil.SyncBuffer
	// exited is closed when buildah run has returned, with err.
	exited chan struct{}
	err    error
}

// start runs argv in a new container of the image, inside ns. Cleanup
// kills it if it still runs.
func start(t *testing.T, b *buildah, ns netns, argv []string) *running {
	t.Helper()
	s := &running{t: t, container: b.run("from", image), out: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command("ip", slices.Concat([]string{"netns", "exec", ns.name, "buildah"}, b.global,
		[]string{"run", "--isolation", "chroot", s.container, "--"}, argv)...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			for _, p := range netnsPIDs(t, ns) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			<-s.exited
		}
		if t.Failed() {
			out := s.out.String()
			if len(out) > 8000 {
				out = "[...]" + out[len(out)-8000:]
			}
			t.Logf("output of %q in the container:\n%s", argv, out)
		}
	})
	return s
}

// waitFor polls cond every 250 ms until it holds, failing the test when
// the container exits or limit passes first. An error of cond counts as not
// yet (the stack provisions its tables after it starts serving); the last
// one is reported on failure.
func (s *running) waitFor(what string, limit time.Duration, cond func() (bool, error)) {
	s.t.Helper()
	deadline := time.After(limit)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-s.exited:
			s.t.Fatalf("the container exited (%v) while waiting for %s (last error: %v)", s.err, what, last)
		case <-deadline:
			s.t.Fatalf("%s: not after %v (last error: %v)", what, limit, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
