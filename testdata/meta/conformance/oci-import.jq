# oci-import.out.sh (raw output), input builds.json: the first oci-import
# build's build_command without its SBOM part.
include "meta";
first(.[] | select(normalized_builder == "oci-import"))
| build_command
| sub("\n+# SBOM[\\s\\S]*$"; "")
