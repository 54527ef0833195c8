export const USAGE = `berth: a declarative deployment controller for a Docker host

Usage:
  berth --version                              print berth's version
  berth --help, -h                             print this text (also: berth COMMAND --help)
  berth run --manifests DIR [--once] [flags]   reconcile the host toward DIR (until SIGTERM, or one pass)
  berth validate PATH... [--age-identity F] [--runtime swarm]
                                               check manifest files or directories (and, with keys, that their secrets
                                               decrypt; with swarm, what Swarm cannot honour)
  berth plan --manifests DIR [--exit-code]     print what a pass would do now; changes nothing
  berth status [--json] [--runtime swarm]      every managed app: desired tag, running image, phase (swarm: each
                                               task on every node, with the node's name and address)
  berth secrets:encrypt APP NAME               encrypt stdin for the recipients in <manifests>/.age-recipients into secrets/APP/NAME.age
  berth events [APP] [--json]                  the timeline: deploys, failures, rollbacks, removals, repairs, faults
  berth sync                                   ask the running berth (run --git) to fetch its repository now
  berth retry APP                              try a revision again that berth holds back (rolled back, or its release failed)
  berth promote APP                            end APP's canary now: the new revision takes every request
  berth abort APP                              end APP's canary now: traffic back to the stable revision, the new one held
  berth history APP [--json] [--runtime swarm] the app's deploys (time, tag, image id, outcome); * marks what serves
                                               (swarm: the nodes each deploy's tasks ran on, while Swarm keeps them)
  berth tags APP [--json]                      image tags of <NS>/<APP>, the running one marked
  berth tags:create APP TAG [--force]          tag the image APP runs now as <NS>/<APP>:TAG (--force moves an existing tag)
  berth tags:deploy APP TAG [--wait]           set spec.tag in APP's manifest (comments kept); the controller deploys it
                    [--manifests DIR] [--timeout S]   --wait: exit 0 once TAG serves, 1 if the deploy fails
  berth tags:destroy APP TAG                   remove the tag (refuses latest and the tag that runs)

Shared flags:
  --namespace NS           image namespace and controller scope (default "dokku": images <NS>/<app>:<tag>)
  --state-dir DIR          where berth keeps phases, history and its lock (default /var/lib/berth)
  --allow-host-path PREFIX allow host-path volumes under PREFIX (repeatable; named volumes are always allowed)
  --log-format json|pretty logs as pino JSON lines (default) or for people
  --log-level LEVEL        trace, debug, info (default), warn, error
  DOCKER_HOST              the engine, as Docker's own clients read it (default the local socket)

run flags:
  --manifests DIR          the watched directory (default ./manifests)
  --once                   one reconcile pass over every app; exit 0 when all converged, 1 otherwise
  --resync SECONDS         resync period: the host listed once, drifted apps reconciled (default 60)
  --concurrency N          apps reconciled in parallel: the bound on berth's engine operations (default 4)
  --allow-empty            let an emptied directory remove every app
  --stop-timeout SECONDS   grace between SIGTERM and SIGKILL when stopping containers (default 10)
  --keep-revisions N       images berth pulled stay tagged for the last N deployed revisions (default 5, at most 50)
  --lease-duration S       swarm: replicas of berth contend for a lease; a standby takes it once it saw it unrenewed
                           for S seconds (default 15); the leader stops acting 2/3 of S after its last renew
  --listen HOST:PORT       serve the status page (/), /healthz, /readyz, /metrics, /api/apps[/NAME] (off by default)
  --listen-host NAME       another Host name the page, /api and /metrics answer to (repeatable); they answer only
                           --listen's own host, IP addresses and (on loopback) localhost: 421 for any other
  --listen-max-connections N  open connections at most (default 256)
  --listen-rate N          requests a minute per client address, in bursts as large (default 600; 429 beyond)
  --listen-header-timeout S   a request's headers must arrive within S seconds, else 408 and closed (default 10)
  --listen-request-timeout S  the whole request, body included, within S seconds (default 30)
  --pull-stall-timeout S   abandon a pull with no progress for S seconds, retry later (default 120)
  --runtime docker|swarm   containers on this engine (default), or one Swarm service per app (DOCKER_HOST a manager)
  --swarm-registry HOST:PORT  swarm: push images only this host has (docker load, local builds) there, deploy by digest

secret flags (run, plan):
  --age-identity FILE      age identities (age-keygen) that decrypt envFrom and secrets files (repeatable;
                           also BERTH_AGE_IDENTITY_FILE); read once, never logged. Like every file of a secret
                           (--notify-file, --notify-secret-file, --git-url-file, --git-webhook-secret-file), refused
                           unless owned by berth's user or root and not readable by others (chmod 600 FILE)
  --secrets-dir DIR        where decrypted secret files are mounted from: DIR/<namespace>, a directory only
                           berth's user may enter, on tmpfs (default: /dev/shm/berth-<namespace>-<random>,
                           a name berth makes and records in its state directory)
  --allow-secrets-on-disk  accept a --secrets-dir that is not on a tmpfs (decrypted secrets reach a disk)

notification flags (run):
  --notify URL             POST each event as JSON (repeatable); slack+URL, mattermost+URL or discord+URL for a
                           chat line; a #events=deploy.failed,deploy.rolled_back&apps=web fragment filters what is sent
  --notify-file F          more --notify URLs, one a line (# comments), kept off the command line where ps shows
                           them (repeatable; 0600, berth's user's); also BERTH_NOTIFY (URLs separated by spaces
                           or newlines)
  --notify-secret-file F   sign JSON webhooks: X-Berth-Signature sha256 HMAC of "<X-Berth-Timestamp>.<body>"
  --notify-exec CMD        run CMD (sh -c) with the event as JSON on stdin (repeatable; 10 s timeout)
  --notify-exec-events L   only these event types to --notify-exec
  --public-url URL         where the status page is reached, for links in chat messages

git flags (run, plan): follow a repository instead of --manifests
  --git URL                the repository (any URL the system git takes: https, ssh, git://, file://)
  --git-url-file F         the repository's URL read from F (one line, # comments; 0600, berth's user's), for a
                           URL with credentials ps must not show; also BERTH_GIT_URL (--git and the file win)
  --git-branch B           the branch to follow (default main)
  --git-path P             the manifests' directory inside the repository (default: its root)
  --git-interval S         seconds between looks at the remote (default 60; a look is one ls-remote)
  --git-max-tree-mib N     the most a commit's files may hold (default 512); a larger one, or a fetch
                           writing a file over twice that, is refused and the last good tree kept
  --git-webhook-secret-file F  with --listen: POST /hooks/git takes GitHub, GitLab, Gitea/Forgejo push webhooks signed with it
  --git-verify-signatures  apply only a head commit signed by a key of the trust list below (one is required)
  --git-allowed-signers F  SSH keys trusted to sign (git's allowed-signers format; writable by berth's user only)
  --git-trusted-key FPR    a GPG key trusted to sign, by fingerprint (repeatable); the keyring's own trust
                           is not enough

proxy flags (run, plan):
  --proxy nginx            route each app with domains through nginx; traffic moves only after checks pass
  --nginx-conf-dir DIR     where the server blocks go (default /etc/nginx/conf.d)
  --proxy-listen ADDR:PORT what the server blocks listen on (default 80)
  --nginx-test "CMD"       checks a candidate configuration (default "nginx -t"); its "conflicting server
                           name" warnings refuse a domain another server block already serves
  --nginx-reload "CMD"     reloads nginx (default "nginx -s reload")
  --domain D               serve apps without domains as <app>.D

HTTPS flags (run, plan; need --proxy nginx):
  --acme-directory URL     get a certificate for every domain from this ACME directory (HTTP-01 through nginx)
  --acme-email ADDR        the account's contact (required with --acme-directory)
  --acme-ca-file F         also trust this CA for the ACME server's own TLS (a private CA, pebble)
  --tls-cert-dir DIR       your own <domain>.crt + <domain>.key pairs (_.example.com.* for *.example.com), used before ACME
  --proxy-tls-listen ADDR:PORT  what the HTTPS server blocks listen on (default 443)
`;

/** A command line berth cannot act on; the message says why. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
