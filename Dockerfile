# berth's container image: berth with nginx, git and an SSH client beside it, run next to the
# apps it manages (docs/packaging.md). Build it with the host's network (npm ci needs the npm
# registry, apt the Debian archive when the base lacks a package; an engine started with
# --iptables=false gives build containers no network of their own):
#
#   docker build --network host -t berth .
#
# BASE is any Debian with Node >= 20.19 in its archive (trixie or later). The default is the
# public image; where no registry is reachable, make one from Debian's archive and pass it:
#
#   docker build --network host --build-arg BASE=$(packaging/base-image.sh) -t berth .
#
# Both stages install only what their base lacks: on packaging/base-image.sh's base, nothing.
ARG BASE=debian:trixie-slim

FROM ${BASE} AS build
COPY packaging/install-missing.sh /usr/local/sbin/install-missing
RUN install-missing nodejs ca-certificates
# Behind a TLS-intercepting proxy, its CA (PEM text) for this stage's downloads only:
#   --build-arg EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)"
ARG EXTRA_CA_CERTS=""
RUN printf '%s\n' "$EXTRA_CA_CERTS" >/etc/ssl/build-extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/build-extra-ca.pem
# npm from the npm registry, checked against its published integrity (Debian's npm package pulls
# in hundreds of packages): for this stage only, the image berth ships has no npm.
ARG NPM_VERSION=11.19.1
ARG NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
WORKDIR /opt/npm
RUN node -e ' \
    const { createHash } = require("node:crypto"); \
    const [version, integrity] = process.argv.slice(1); \
    fetch(`https://registry.npmjs.org/npm/-/npm-${version}.tgz`).then(async (response) => { \
      if (!response.ok) throw new Error(`npm ${version}: HTTP ${response.status}`); \
      const tarball = Buffer.from(await response.arrayBuffer()); \
      const digest = `sha512-${createHash("sha512").update(tarball).digest("base64")}`; \
      if (digest !== integrity) throw new Error(`npm ${version}: integrity ${digest}, not ${integrity}`); \
      require("node:fs").writeFileSync("npm.tgz", tarball); \
    });' "$NPM_VERSION" "$NPM_INTEGRITY" \
  && tar -xzf npm.tgz --strip-components=1 && rm npm.tgz \
  && ln -s /opt/npm/bin/npm-cli.js /usr/local/bin/npm && npm --version
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/ scripts/
COPY schemas/ schemas/
COPY src/ src/
COPY tsconfig.json ./
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -f dist/*.map

FROM ${BASE}
COPY packaging/install-missing.sh /usr/local/sbin/install-missing
# nginx (--proxy nginx), git and openssh-client (--git), tini (PID 1).
RUN install-missing nodejs nginx git openssh-client ca-certificates tini \
  && rm -f /etc/nginx/sites-enabled/default \
  && mkdir -p /var/lib/berth /manifests
COPY --from=build /src/package.json /opt/berth/package.json
COPY --from=build /src/node_modules/ /opt/berth/node_modules/
COPY --from=build /src/dist/ /opt/berth/dist/
COPY schemas/ /opt/berth/schemas/
COPY packaging/entrypoint.sh /usr/local/bin/berth-entrypoint
RUN chmod 755 /opt/berth/dist/cli.js && ln -s /opt/berth/dist/cli.js /usr/local/bin/berth && berth --version
# The code cache (docs/speed.md) in the state volume: kept across container restarts.
ENV BERTH_COMPILE_CACHE=/var/lib/berth/code-cache
VOLUME /var/lib/berth
# tini reaps orphans and passes signals to the entrypoint, which passes them to berth and nginx.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/berth-entrypoint"]
CMD ["run", "--manifests", "/manifests", "--proxy", "nginx", "--listen", "127.0.0.1:9090"]
# Healthy while berth answers /healthz on its --listen address (and, with --proxy nginx, while
# nginx runs: the entrypoint ends the container when either stops). No --listen: always healthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/berth-entrypoint", "healthcheck"]
