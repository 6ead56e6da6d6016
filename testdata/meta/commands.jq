# Each build's `commands` as one text (the blocks of meta-commands.out.sh,
# headed by the build id): the insta snapshots of tests/build_modules.rs.
include "meta";
.[]
| {
    buildId,
    text: (
      [
        "# \(.buildId) [\(.build.arch)]",
        (commands | to_entries[] | "# <\(.key)>", .value, "# </\(.key)>")
      ]
      | join("\n")
    )
  }
