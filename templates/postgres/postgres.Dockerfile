# PostgreSQL 15 from Debian 12's packages: the template's "db" service (no image from Docker Hub needed).
# On its first start it makes the cluster in its volume, with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB
# as the official image takes them, and listens on every address of the project's network.
FROM debian:bookworm-slim

RUN rm -f /etc/apt/apt.conf.d/docker-clean \
 && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache

# No cluster from the package: the service makes its own in the volume at its first start. The downloads'
# cache is the service's own (id): devbox builds this image beside the environment's, whose apt steps hold
# /var/cache/apt's for as long as they run.
RUN --mount=type=cache,id=postgres-service-apt,target=/var/cache/apt,sharing=locked \
    mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && mkdir -p /var/cache/apt/lists \
 && apt-get -o Dir::State::Lists=/var/cache/apt/lists update \
 && apt-get -o Dir::State::Lists=/var/cache/apt/lists install -y --no-install-recommends postgresql-15

ENV LANG=C.UTF-8 PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data

# Started as root, as the official image is: the volume's folder is handed to postgres (a fresh volume
# belongs to root), then initdb into it when it is empty (trust on the local socket, passwords over the
# network), then postgres in the foreground, so a stop's SIGTERM is its smart shutdown.
RUN printf '%s\n' \
      '#!/bin/sh' \
      'set -e' \
      'if [ "$(id -u)" = 0 ]; then' \
      '  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"' \
      '  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"' \
      'fi' \
      'user="${POSTGRES_USER:-postgres}"' \
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then' \
      '  printf "%s\n" "${POSTGRES_PASSWORD:-postgres}" > /tmp/pwfile' \
      '  initdb --username="$user" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA"' \
      '  rm -f /tmp/pwfile' \
      '  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"' \
      '  if [ -n "$POSTGRES_DB" ] && [ "$POSTGRES_DB" != "$user" ]; then' \
      '    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" -c unix_socket_directories=/tmp postgres >/dev/null' \
      '  fi' \
      'fi' \
      'exec postgres -D "$PGDATA" -c listen_addresses="*" -c unix_socket_directories=/tmp' \
      > /usr/local/bin/start-postgres \
 && chmod 755 /usr/local/bin/start-postgres

EXPOSE 5432
CMD ["start-postgres"]
