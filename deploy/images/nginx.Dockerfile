# nginx from Debian's packages (nginx-light) and curl for the health check, for hosts that build
# their images locally instead of pulling `nginx:stable` (scripts/containers.sh). The configuration
# is mounted at /etc/nginx/nginx.conf, as deploy/docker-compose.yml does.
FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light curl \
 && rm -rf /var/lib/apt/lists/*
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
