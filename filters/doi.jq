# Policy of the Docker Official Images program: who built an image, and
# which builds get an SBOM and a signature.
#
# Why this module exists: these are decisions of the program, not facts of a
# build, and they change on their own schedule (a repository opting in to
# SBOMs, a new architecture); keeping them in one small module means the
# build commands (meta), the Jenkins queue (jenkins) and anything else that
# asks read the same answer.
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.
#
# Input of the build_* functions: one build of builds metadata
# ({buildId, build: {arch, ...}, source: {arches: {ARCH: {tags, archTags}}}}).

# The builder id buildkit writes into the SLSA provenance it attaches.
def buildkit_provenance_builder_id:
  "https://github.com/docker-library"
;

# The repositories whose images get an SBOM, in the program's own order.
# Kept as data in code so the binary needs no file beside it.
def _doi_sbom_repositories:
  [
    "aerospike", "almalinux", "alpine", "alt", "amazoncorretto", "amazonlinux",
    "api-firewall", "arangodb", "archlinux", "backdrop", "bash", "bonita",
    "buildpack-deps", "busybox", "caddy", "cassandra", "chronograf", "cirros",
    "clojure", "composer", "convertigo", "couchdb", "crate", "debian", "drupal",
    "eclipse-mosquitto", "eclipse-temurin", "eggdrop", "elasticsearch",
    "elixir", "emqx", "erlang", "fedora", "flink", "fluentd", "gazebo", "gcc",
    "geonetwork", "ghost", "golang", "gradle", "groovy", "haproxy", "haskell",
    "hitch", "httpd", "hylang", "ibm-semeru-runtimes", "ibmjava", "influxdb",
    "irssi", "jetty", "jruby", "julia", "kapacitor", "kibana", "kong",
    "liquibase", "logstash", "mageia", "mariadb", "maven", "memcached", "mongo",
    "mongo-express", "mono", "mysql", "neo4j", "neurodebian", "nginx", "node",
    "odoo", "openjdk", "open-liberty", "oraclelinux", "orientdb", "perl",
    "photon", "php", "plone", "postgres", "pypy", "python", "r-base",
    "rabbitmq", "rakudo-star", "redis", "registry", "rethinkdb", "rockylinux",
    "ros", "ruby", "rust", "sapmachine", "satosa", "silverpeas", "solr",
    "sonarqube", "spark", "spiped", "storm", "swift", "swipl", "telegraf",
    "tomcat", "tomee", "traefik", "ubuntu", "websphere-liberty", "wordpress",
    "xwiki", "znc", "zookeeper"
  ]
;

# The architectures an SBOM can be generated for (the scanner's own images
# exist for these).
def _doi_sbom_arches:
  ["amd64", "arm32v5", "arm32v7", "arm64v8", "i386", "ppc64le", "riscv64", "s390x"]
;

# The repositories a build publishes to (Docker Hub names without the tag):
# from its tags, and from its architecture tags with their namespace
# ("amd64/busybox:1" is busybox) for a build that has only those.
def _doi_build_repositories:
  .build.arch as $arch
  | (.source.arches[$arch] // {}) as $tags
  | [
      ($tags.tags // [] | .[] | strings),
      ($tags.archTags // [] | .[] | strings | sub("^[^/]+/"; ""))
    ]
  | map(sub(":[^:/]*$"; ""))
  | unique
;

# build_should_sbom: true when the build's repository is one of the SBOM
# repositories and its architecture one an SBOM can be made for.
def build_should_sbom:
  (.build.arch | IN(_doi_sbom_arches[]))
  and (_doi_build_repositories | any(.[]; IN(_doi_sbom_repositories[])))
;

# build_should_sign: signatures go on exactly the images that carry an SBOM
# (our choice; no reference output pins this rule): a signature vouches for
# the attestations published beside the image, so an image without them has
# nothing extra to sign.
def build_should_sign:
  build_should_sbom
;
