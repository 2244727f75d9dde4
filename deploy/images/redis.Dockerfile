# Redis 7 from Debian's packages, for hosts that build their images locally instead of pulling
# `redis:7` (scripts/containers.sh). Like the official image: data in /data (the working directory),
# a `redis-server …` command, reachable from other containers without a configuration file.
FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis /data
COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
