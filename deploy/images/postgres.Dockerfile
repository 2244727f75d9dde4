# PostgreSQL 15 from Debian's packages, for hosts that build their images locally instead of pulling
# `postgres:15` (scripts/containers.sh). It honours what deploy/docker-compose.yml uses of the
# official image: POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB on first start, the data directory
# /var/lib/postgresql/data, and a `postgres -c …` command.
FROM debian:12
# Debian's package would create a cluster of its own in /var/lib/postgresql/15/main: not wanted here.
RUN mkdir -p /etc/postgresql-common/createcluster.conf.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf.d/no-main.conf \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
ENV PGDATA=/var/lib/postgresql/data \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
