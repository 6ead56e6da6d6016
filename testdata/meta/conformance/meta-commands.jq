# meta-commands.out.sh (raw output, SOURCE_DATE_EPOCH=0), input builds.json:
# the first buildkit, classic and oci-import build, each as a "# TAG [ARCH]"
# block with one "# <KEY>" ... "# </KEY>" part per key of `commands`.
include "meta";
[
  first(.[] | select(normalized_builder == "buildkit")),
  first(.[] | select(normalized_builder == "classic")),
  first(.[] | select(normalized_builder == "oci-import"))
]
| map(
    [
      "# \(.source.arches[.build.arch].tags[0]) [\(.build.arch)]",
      (commands | to_entries[] | "# <\(.key)>", .value, "# </\(.key)>")
    ]
    | join("\n")
  )
| join("\n\n")
