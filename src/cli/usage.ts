// What `bunker --help` and `bunker COMMAND --help` say: the synopsis, then
// what the command does.  The flags themselves are listed from each command's
// flag specs (their `help`), so a flag cannot be accepted and left
// undocumented.  Loaded only to print help (src/main.ts, runCommand).
import { flagLines, type HelpRequest } from "./args.ts";

/** `bunker --help`: every command (tests/unit/cli-help.test.ts checks that none is missing) */
export const USAGE = `usage: bunker [--debug] [--root DIR] COMMAND [ARGS...]

commands:
  run       run a command in a new container (--rootfs DIR|host), an IMAGE, or an OCI bundle (-b DIR ID)
  create    create a container from an OCI bundle (runc-compatible), or from an IMAGE (run's flags)
  start     start a created container (docker-style: a stopped one again)
  restart   stop and start containers again (docker restart)
  stop      stop a container (its stop signal, then SIGKILL)
  kill      send a signal to a container
  rm        remove detached containers (-v: and their anonymous volumes)
  delete    delete a container (runc's delete)
  exec      run a process in a running container
  ps        list containers (docker-style), or a container's processes (ps ID)
  list      list containers (runc's list)
  state     print a container's state (JSON)
  inspect   print a container's or an image's details (JSON, or --format TEMPLATE)
  logs      output of a detached container (run -d)
  attach    this terminal on a running detached container (its output from now on, stdin with -i)
  top       a container's processes (as ps ID)
  port      a container's published ports (run -p)
  wait      wait for containers to stop, print their exit status
  rename    give a container another name
  cp        copy files between a container and the host (tar semantics)
  export    a container's root as a tar (stdout or -o FILE)
  commit    a new image of a container's changes (--change 'CMD …')
  diff      what a container added, changed and deleted (A, C, D)
  pause     freeze a container (cgroup.freeze)
  resume, unpause   thaw a paused container
  update    change a running container's limits
  stats     containers' resource usage (cgroup v2; docker's table, --no-stream)
  events    a container's events and statistics as JSON lines (cgroup v2)
  container docker's container subcommands (ls, rm, inspect, prune, …)
  images    list images
  pull      pull an image from a registry
  push      push an image to a registry
  load      load images from a docker save / OCI archive (-i FILE)
  import    a tarball of a root filesystem as a one-layer image (docker import; -c 'CMD …')
  save      save images to a docker-archive (-o FILE)
  rmi       remove images
  tag       give an image another name
  history   the steps that made an image
  build     build an image from a Dockerfile (rootless, no daemon; cached steps)
  image     image subcommands (ls, rm, inspect, tag, load, import, save, pull, push, prune, check)
  login     store credentials for a registry
  logout    remove the stored credentials of a registry
  volume    named volumes: create, ls, inspect, rm, prune, export
  network   user networks: create, ls, inspect, rm, prune, connect, disconnect (run --network NAME)
  system    df, prune (stopped containers, unused networks, dangling images, build cache), info
  info      what this machine runs: containers, images, storage driver, host (docker info)
  serve     the Docker Engine API on a unix socket (DOCKER_HOST=unix://…; root-equivalent for you)
  unshare   run a command in a user namespace with your containers' id map (podman unshare)
  check     check what this machine and user can do
  features  print the runtime's features (JSON)
  spec      write a default config.json (--rootless)
  version   print the version

global options: --debug (notes; run ends them with the time of each start-up step),
  --root DIR (containers' state), --data-root DIR (image store),
  --storage-driver overlay|copy (how run IMAGE makes the root; default: overlay when the
  kernel allows it in a user namespace, else copy; also $BUNKER_STORAGE_DRIVER),
  --cgroup-manager cgroupfs|systemd|disabled

Errors are one line on stderr: exit 125 (126/127: the program cannot be run or is not found).
config.json, --process and --resources files, manifests, image configs and archive indexes
are read within size and nesting bounds (README: Untrusted input) and checked field by field.

Run 'bunker COMMAND --help' for a command's flags.`;

/** `bunker WHERE --help`: the command's usage, then every flag it accepts */
export function helpText(h: HelpRequest): string {
  const usage = COMMAND_USAGE[h.where] ?? `bunker ${h.where}`;
  return `usage: ${usage}${h.specs.length ? `\n\nflags:\n${flagLines(h.specs)}` : ""}`;
}

export const COMMAND_USAGE: Record<string, string> = {
  run: `bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...]
       bunker run [OPTIONS] IMAGE [CMD [ARG...]]
       bunker run -b BUNDLE [-d] [--pid-file F] [--console-socket S] [--keep] ID   (runc's run)

Which form: runc's (an OCI bundle's config.json, create + start in one) when
-b/--bundle, --console-socket, --pid-file, --keep, --no-new-keyring or
--no-subreaper comes before the first argument; anything else is the docker
form, wherever it runs (a config.json in the directory does not change it: in a
bundle directory say -b . ID).  runc's form takes create's flags and
-d/--detach, --keep, --no-subreaper.

confinement.  By default, as Docker: 14 capabilities (CHOWN DAC_OVERRIDE FOWNER
FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
AUDIT_WRITE SETFCAP) in the bounding, permitted and effective sets, none
inheritable or ambient, none at all for a non-root -u; no_new_privs; Docker's
seccomp profile (EPERM, clone3 ENOSYS); /proc/kcore, /proc/keys, … /sys/firmware
masked.  /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus, /proc/fs are
read-only in every case.  'bunker state ID' shows what a container got.

networks.  none: a network namespace of its own with only lo, up.  host: the
host's network namespace.  pasta[:OPTS] (Debian passt) and slirp4netns[:OPTS]:
an own namespace with a tap device whose traffic the helper program turns
into the host's sockets (outbound TCP/UDP, DNS forwarded to the host's
resolver, published ports); started before the command runs, ended with the
container.  The host's loopback (127.0.0.1 services) is not reachable unless
asked: pasta:--map-gw (the gateway address reaches it), or
slirp4netns:allow_host_loopback=true (10.0.2.2).  pasta's OPTS are pasta
options, comma-separated (pasta:--mtu,1500); slirp4netns's are mtu=N,
cidr=NET/LEN, enable_ipv6=true.  container:ID: the network (and user)
namespace of container ID (a pod: localhost reaches it).  NAME: a user network
('bunker network create NAME'); its -p ports go through bunker-proxy, which
binds them on the host and relays each connection (TCP) or each client's
datagrams (UDP) to the container's address from inside the network, and ends
with the container.  An IMAGE gets
slirp4netns by default (outbound access, as Docker's default bridge; pasta when
slirp4netns is missing): images expect a network.  slirp4netns because it is
ready in a few ms where pasta takes tens on every run.  --rootfs runs keep none: a
sandbox of the host or a directory gets no network unless asked.

With an IMAGE the root is an overlay of its layers (nothing is copied) with a
private writable layer on a tmpfs of its own (memory, counted in the container's
cgroup; on disk in the state dir before Linux 6.6), gone at exit, or a private copy where overlay cannot
be mounted in a user namespace (bunker --storage-driver overlay|copy forces
one; bunker check says which is used); Env, WorkingDir, User, Entrypoint and
Cmd come from the image; the user namespace defaults to --userns=auto when you
have a /etc/subuid range, and the image's files then belong to their image
owners.  With --userns=single such files of non-root owners show as nobody
(65534) and only their read/execute permissions for others apply.

resources (cgroup v2: -m … --oom-kill-group) are an error, never silence,
when they cannot be applied.`,
  check: `bunker check [--store]

Prints what this machine and user can do; exit 0 when \`bunker run\` can work.`,
  create: `bunker create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID   (runc's create)
       bunker create [run's OPTIONS] IMAGE [CMD [ARG...]]
       bunker create [run's OPTIONS] --rootfs DIR|host [--] CMD [ARG...]

runc's form creates the container of an OCI bundle; docker's sets a container
up as 'bunker run -d' does and prints its id.  Either way its process waits on
exec.fifo until 'bunker start ID'.  Which form: docker's when one of run's
flags that runc's create has not (--name, -e, --rm, --rootfs, …) comes first,
or more than one argument is given; runc's otherwise (create ID in a bundle
directory).  Docker's create takes run's flags except -d, -t and -i.`,
  start: `bunker start ID...
       bunker start -a [-i] [--detach-keys KEYS] ID

Starts a created container (runc's start).  A docker-style container (bunker
create IMAGE, bunker run -d) that has stopped is made again from how it was
created and started (its log is kept; its writable layer and anonymous volumes
are new); a running one is left alone; the id is printed, as docker's start.
-a (docker start -a) attaches its output from its start, as bunker attach
does, and exits with its status; -i its stdin too (create -i, or -it on a
terminal: bunker create -it IMAGE sh, then bunker start -ai ID).`,
  state: `bunker state ID|NAME

Prints the container's state (runtime-spec JSON, with what confines it).
NAME: a name rename gave it (looked up when no container has that id).`,
  kill: `bunker kill [--all] ID [SIGNAL]

Sends SIGNAL (default SIGTERM; a name or a number; 0 checks that the init
lives) to the container's init.`,
  delete: `bunker delete [--force] ID

Deletes a stopped container (--force: a running one too, killed first).`,
  exec: `bunker exec [OPTIONS] ID [CMD [ARG...]]

Runs a process in a running container (runc's and docker's exec), with the
container's user, environment and confinement unless the flags say otherwise.
-u USER[:GROUP] takes names or ids of the container's own /etc/passwd and
/etc/group, as Docker's (an unknown one: exit status 126).`,
  list: `bunker list [--format table|json] [--quiet]

Lists the containers of the state root.`,
  port: `bunker port ID [CONTAINERPORT[/tcp|/udp]]

Prints each published port of container ID as "80/tcp -> 127.0.0.1:8080"
(run -p, -P); with CONTAINERPORT, only its host address and port.`,
  ps: `bunker ps [-a] [-q] [-f KEY=VALUE]... [-n N] [-l] [--no-trunc] [--format table|json|TEMPLATE]
       bunker ps [--format table|json] ID [PS_ARGS...]

Without an ID: docker's ps, the running containers (-a: all), newest first:
CONTAINER ID, IMAGE, COMMAND (quoted, cut to 20 characters), CREATED ("2
minutes ago"), STATUS ("Up 2 minutes", "Exited (137) 5 seconds ago",
"Created", "Up 3 seconds (Paused)"), PORTS, NAMES.  With one: the
container's processes (runc's ps), as ps(1) PS_ARGS (default -ef) prints
them.`,
  top: `bunker top ID [PS_ARGS...]

Docker's top: the container's processes as ps(1) PS_ARGS (default -ef) prints
them; the same as bunker ps ID.`,
  export: `bunker export [-o FILE] ID > rootfs.tar

Docker's export: the root of container ID as the container sees it (its
image and what it changed, owners as its ids), a tar on stdout or in FILE.
A stopped one too: its kept writable layer on its image, or its --rootfs.`,
  cp: `bunker cp [-a] [-L] ID:SRC DEST|-
       bunker cp [-a] [-L] SRC|- ID:DEST

Docker's cp, between the host and container ID (running, or stopped: its
--rootfs DIR, an OCI bundle's, an image container's kept writable layer).  A directory
into an existing directory lands inside it, onto a new name takes that name;
SRC/. copies a directory's contents; a file onto a file replaces it.  "-" is
a tar on stdout (of SRC) or stdin (extracted into the directory DEST).  Paths
in the container resolve inside its root: symlinks and .. never lead out.
Files copied in belong to the container's root (-a: the archive's owners);
copied out, to you.`,
  rename: `bunker rename OLD NEW

Docker's rename: container OLD (its id or name) is NEW in every docker-style command (ps,
inspect, logs, exec, stop, rm, the API) and in the /etc/hosts of the other
containers on its user network.  Its id stays (a running container keeps
running): the id still finds it, and no new container can take it as --name.`,
  wait: `bunker wait ID...

Docker's wait: blocks until each container is no longer running, then prints
its exit status (128+N when signal N killed it) on a line of its own.`,
  commit: `bunker commit [--change 'INSTRUCTION ARGS']... [-m MSG] [--author A] [--pause=false] CONTAINER [REF]

Docker's commit: a new image of CONTAINER's image with its writable layer on
top (what it added, changed and deleted), its config the image's with what
the container was run with (-e, CMD, --entrypoint, -w, -u), then each
--change (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
STOPSIGNAL as in a Dockerfile).  Tagged REF when given; prints the image ID.
Running or stopped; a running one is frozen while its layer is read when it
has a cgroup.  Works on containers that keep their layer: run -d without
--rm, create.`,
  diff: `bunker diff CONTAINER

Docker's diff: what CONTAINER changed in its image's files, one line each,
A (added), C (changed), D (deleted), sorted by path.  For containers that
keep their layer: run -d without --rm, create.`,
  features: `bunker features

Prints what this runtime supports (runtime-spec features JSON).`,
  spec: `bunker spec [--rootless] [--bundle DIR]

Writes a default config.json into the bundle directory.`,
  logs: `bunker logs [--follow] ID

Prints the output of a detached container (run -d).`,
  import: `bunker import [-c 'INSTRUCTION']... [-m MSG] FILE|- [REPOSITORY[:TAG]]

Docker's import: the tarball FILE (- : stdin), plain or gzip, zstd, xz or
bzip2 compressed (a root filesystem, as bunker export writes it), becomes
an image of one layer: the tar as written (gzip and zstd kept as they are,
xz and bzip2 stored as gzip), its diff id, a config of the --change
instructions alone (no CMD unless one is given), the history entry
"Imported from -" (or -m's message).  Prints the image's id (sha256:…);
without REPOSITORY the image is dangling.  A URL is not fetched (download it
first); input that is no tar is one line, and no image is made.`,
  attach: `bunker attach [--no-stdin] [--sig-proxy=false] [--detach-keys KEYS] CONTAINER

Docker's attach: this terminal on a running container started with run -d
(with or without -i and -t).  Its output from now on (no history: bunker logs
has that), stdout and stderr apart without a terminal; with -i this stdin
goes to its stdin.  With -t the terminal is raw while attached (restored
after), its size is the container's, and SIGWINCH passes new sizes on; the
detach keys (ctrl-p ctrl-q) leave the container running and end attach as
docker's client does ("read escape sequence", status 1).  Without a terminal
SIGINT, SIGTERM, … are passed to the container (--sig-proxy=false: not).
The container's exit ends attach with its status.  A stopped container is
one line (status 125; docker's is 1).`,
  pause: `bunker pause ID...

Freezes all processes of the containers (cgroup.freeze); 'bunker resume' thaws
them.  A container without a cgroup cannot be frozen.`,
  resume: `bunker resume ID...

Thaws containers frozen by 'bunker pause' (docker's name: unpause).`,
  unpause: `bunker unpause ID...

Docker's unpause: thaws containers frozen by 'bunker pause' (as bunker resume),
printing each one's name.`,
  restart: `bunker restart [-t SECS] ID...

Docker's restart: each running container is stopped as 'bunker stop' does
(its stop signal, SIGKILL after SECS, default 10), then started as 'bunker
start' does (a docker-style container is made again: a new init, its log
kept); a stopped or created one is started.  Prints each ID.`,
  update: `bunker update [FLAGS] ID

Changes a running container's limits (its cgroup); the flags win over the
--resources file, field by field.`,
  stats: `bunker stats [--no-stream] [-a] [--no-trunc] [--format table|json|TEMPLATE] [ID...]
       bunker stats --json ID...

Docker's stats: CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O,
BLOCK I/O, PIDS of the running containers (-a: all; or the IDs given), read
from their cgroups, the table redrawn every second until ^C (--no-stream:
once, after a second's CPU sample).  --json: bunker's own numbers (memory
peak and OOM kills, CPU throttling), one JSON object per container.  A
container without a cgroup has no numbers of its own: named IDs are an
error before any output, others show "--".`,
  events: `bunker events [--stats] [--interval SECS] ID

Prints the container's events (oom) and statistics as JSON lines.`,
  stop: `bunker stop [--time SECS] ID...

Sends the container's stop signal, then SIGKILL after SECS (default 10).`,
  rm: `bunker rm [--force] ID...

Removes detached containers (--force: running ones too).`,
  pull: `bunker pull [OPTIONS] REF

Pulls an image (every digest verified; layers unpacked as they arrive).

A REF without a registry (busybox, team/app) is tried in each registry of
unqualified-search-registries, in order (Docker Hub without the file).  The
file ($XDG_CONFIG_HOME/bunker/registries.conf, else /etc/bunker/registries.conf)
has the format of containers-registries.conf(5):
  unqualified-search-registries = ["registry.example:5000", "docker.io"]
  [[registry]]
  location = "registry.example:5000"   # or prefix = "host[/namespace]"
  insecure = true                      # plain HTTP, unverified TLS
  blocked = false                      # true: never pulled from or pushed to
Registries on localhost, 127.0.0.0/8 or ::1 may speak plain HTTP without a rule.`,
  push: `bunker push [OPTIONS] IMAGE [DEST]

Pushes an image of the store to a registry (DEST: REGISTRY/REPOSITORY[:TAG],
default IMAGE's name).  Blobs the repository has are skipped, blobs another
repository of that registry has (known from pulls and pushes) are mounted,
others uploaded (in 16 MiB chunks when larger); the manifest keeps its bytes,
so its digest is the store's.  An image pulled from an index whose every
platform the store holds goes as that index.  Prints the digest at the end;
a push that stopped is run again and skips what got there.  Registries on
localhost or 127.0.0.0/8 may speak plain HTTP; registries.conf rules apply
(see bunker pull --help).`,
  load: `bunker load -i FILE|DIR [OPTIONS]

Loads images from a docker save archive, an oci-archive, an OCI layout dir or a
docker-dir (podman save --format docker-dir).`,
  save: `bunker save [-o FILE] IMAGE...

Writes images to an archive (stdout without -o).`,
  images: `bunker images [OPTIONS]

Lists the images of the store.`,
  rmi: `bunker rmi [--force] IMAGE...

Removes images (--force: also those a container uses).`,
  inspect: `bunker inspect [--format TEMPLATE] [--type container|image] NAME...

Prints a container's or an image's details (JSON).`,
  build: `bunker build [OPTIONS] CONTEXT|-

Builds an image from a Dockerfile (CONTEXT/Dockerfile, or -f FILE), rootless and
without a daemon: each RUN runs in a container of the steps before it (network
none unless --network), each RUN, COPY and ADD adds one layer, the other
instructions change the config.  A step whose parent and inputs (for COPY/ADD
the content of its files, for RUN its command, env and args) are unchanged
reuses its layer from the cache (--no-cache: never).  CONTEXT - reads a tar of
the context from stdin; .dockerignore leaves files out of the context.`,
  tag: `bunker tag IMAGE NAME

Gives an image another name.`,
  login: `bunker login [OPTIONS] REGISTRY

Stores credentials for a registry.`,
  logout: `bunker logout [--authfile FILE] [REGISTRY]

Docker's logout: removes the stored credentials of REGISTRY (default
docker.io) from bunker's credentials file.`,
  history: `bunker history [-q] [--no-trunc] [-H=false] [--format table|json|TEMPLATE] IMAGE

Docker's history: the steps that made IMAGE, newest first: IMAGE (the top
step's is the image's id, the others <missing>), CREATED, CREATED BY (cut to
45 characters), SIZE (of the layer it made), COMMENT.`,
  info: `bunker info [--format json|TEMPLATE]

Docker's info: the containers (running, paused, stopped), images, storage
driver, cgroup driver, security options and the host, as plain text.`,
  system: `bunker system df|prune|info [ARGS...]

Docker's system commands ('bunker system SUBCOMMAND --help' for each).`,
  "system df": `bunker system df [--format table|json|TEMPLATE]

Docker's system df: for images, containers (their kept writable layers),
local volumes and the build cache, how many, how many in use, their size and
what a prune could give back.`,
  "system prune": `bunker system prune [-a] [--volumes] [-f]

Docker's system prune: removes the stopped containers, the networks no running
container is on, the dangling images (-a: every image no container uses),
the build cache, and with --volumes the anonymous volumes no container uses
(-a: every unused volume).  Asks first unless -f.`,
  container: `bunker container SUBCOMMAND [ARGS...]

Docker's container commands: ls (ps), rm, inspect, start, stop, restart, logs,
exec, run, create, kill, top, port, cp, diff, export, rename, wait, stats,
pause, unpause, commit, update, attach (each the bunker command of that
name) and prune.`,
  "container prune": `bunker container prune [-f]

Removes every stopped container.  Asks first unless -f.`,
  image: `bunker image ls|rm|inspect|tag|load|import|save|pull|push|prune|check [ARGS...]

The image store's commands ('bunker image SUBCOMMAND --help' for each).`,
  "image prune": `bunker image prune [--all] [--force]

Removes dangling images (--all: every image) that no container uses, then every
blob and layer nothing needs.`,
  "image check": `bunker image check

Re-hashes every blob of the store and checks every unpacked layer.`,
  network: `bunker network create|ls|inspect|rm|prune|connect|disconnect [ARGS...]

User networks: containers on one reach each other by name and --network-alias
('bunker network SUBCOMMAND --help' for each).`,
  "network create": `bunker network create [--subnet CIDR] [--gateway IP] [--internal] [--label K=V] [--opt host_loopback=true] NAME

Makes a network: a network namespace of bunker's own with a bridge, and (unless
--internal) pasta for the way out.  With --opt host_loopback=true the
containers reach the host's 127.0.0.1 at the gateway address, named
host.containers.internal in their /etc/hosts; by default they do not.`,
  "network connect": `bunker network connect [--alias NAME] [--ip IP] NETWORK CONTAINER

Puts a container on one more network: a running (or created) one now (an
interface ethN, its name and aliases in the network's /etc/hosts; its default
route stays), a stopped one from its next start.  Its restarts keep it.`,
  "network disconnect": `bunker network disconnect NETWORK CONTAINER

Takes the container off the network: its interface there is deleted (a
stopped one's from its next start).`,
  "network ls": `bunker network ls [-q]

Lists the user networks.`,
  "network inspect": `bunker network inspect NAME...

Prints networks' details (JSON, as Docker's), their running containers included.`,
  "network rm": `bunker network rm [-f] NAME...

Removes networks no running container is on.`,
  "network prune": `bunker network prune [-f]

Removes every network no running container is on.`,
  serve: `bunker serve [--host unix:///PATH|tcp://127.0.0.1:PORT]

Serves the Docker Engine API (version 1.41, negotiated down from newer clients)
until SIGTERM or SIGINT; prints DOCKER_HOST=… at start.  The API can do
whatever you can: the socket is mode 0600 and TCP is loopback only.
Containers keep running when the server stops; the next one finds them.`,
  volume: `bunker volume create|ls|inspect|rm|prune|export [ARGS...]

Named volumes ('bunker volume SUBCOMMAND --help' for each).  A volume lives in
DATA_ROOT/volumes/NAME/_data (--data-root; default ~/.local/share/bunker).
Files a container with --userns=auto wrote belong to your subordinate ids on
the host: 'bunker unshare CMD' runs CMD where they are yours, 'bunker volume
export NAME' tars them with the owners a container sees.`,
  "volume create": `bunker volume create [--label K=V]... [NAME]

Makes a volume (a random name without NAME; an existing NAME is left as it is)
and prints its name.`,
  "volume ls": `bunker volume ls [-q] [--filter K=V]...

Lists the volumes (DRIVER, VOLUME NAME).`,
  "volume inspect": `bunker volume inspect NAME...

Prints the volumes as a JSON array: Name, Driver, Mountpoint (where the files
are), CreatedAt, Labels, Scope, Options.`,
  "volume rm": `bunker volume rm [-f] NAME...

Removes volumes and their files; one a container uses (running or stopped,
until 'bunker rm') only with -f.`,
  "volume prune": `bunker volume prune [-f] [-a]

Removes the anonymous volumes no container uses (-a: every unused volume);
asks first unless -f.`,
  "volume export": `bunker volume export NAME > FILE.tar

Writes the volume's files as a tar to stdout, with the owners a container sees
(files of your subordinate ids included).`,
  unshare: `bunker unshare [--] [CMD [ARG...]]

Runs CMD (default: $SHELL, else /bin/sh) as root of a new user namespace with
the id map bunker's containers get: 0 is you, 1..65536 your /etc/subuid and
/etc/subgid ranges (just 0 without a range), as 'podman unshare'.  Files that
a container wrote into a volume as a non-root user belong to subordinate ids
on the host; here they show their container owners and you can read, change
or remove them:

  bunker unshare ls -ln ~/.local/share/bunker/volumes/pgdata/_data
  bunker unshare rm -rf ~/.local/share/bunker/volumes/pgdata/_data/old

Run as root, CMD runs as it is (root reaches every file).`,
  __finish: `bunker __finish DIR CODE

Internal: started by bunker's monitor to clean up a foreground run that ended.`,
  __restart: `bunker __restart DIR CODE

Internal: started by a container's log writer when a container with a restart
policy ended with CODE: starts it again when the policy says so.`,
  "__end-userns": `bunker __end-userns

Internal: ends this user's shared user namespace holder (bunker-userns), by the
pid its holder file records, only while that pid is still the holder bunker
started; prints that pid.  Running containers keep their namespace; the next
run makes a new holder.  Test scripts use it to end what they started.`,
};
