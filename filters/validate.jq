# Validation helpers that fail loudly and precisely.
#
# Why this module exists: the documents we push (indexes, manifests, deploy
# plans) come from metadata we do not control, and a bad field must stop the
# run with a message that says exactly which field of which item is wrong,
# not a bare "Cannot index string with ..." from somewhere deep in a filter.
# Every validator here passes its input through unchanged, so checks chain
# with `|`, and an error message always has the form
#   invalid value at <path as JSON>: <value as JSON> (expected <what>)
# where the path is relative to the validator's input.
#
# `paths` arguments are jq path expressions (anything `path(...)` accepts:
# `.a.b`, `.items[]`, `.x | select(. != null)` for optional fields, ...).
# Every location they name is checked; a missing key is checked as null.
#
# Written for the common subset of jq 1.6, jq 1.7 and our embedded engine.
# In particular every `try` sits inside `[...]`: jq 1.6 keeps an open `try`
# on its backtracking stack, so an error raised later in the pipeline (our
# own "invalid value" error included) would be caught by it; collecting the
# `try` closes it before anything else runs.

# The error value of a caught error as readable text.
def _validate_describe:
  if type == "string" then . else tojson end
;

# A value as JSON, shortened so one bad blob cannot flood the terminal.
def _validate_show:
  tojson | if length > 256 then .[:253] + "..." else . end
;

# null when `condition` holds for the input (it must yield at least one
# value and all of them truthy), otherwise a reason ("" or what it raised).
def _validate_failure(condition):
  [ try (if [condition] | (length > 0 and all) then null else "" end)
    catch ("raised: " + _validate_describe)
  ]
  | .[0]
;

# The locations named by `paths`, or a clear error when they cannot even be
# walked (for example `.items[]` on a string).
def _validate_paths(paths):
  ([try {paths: [path(paths)]} catch {failure: _validate_describe}] | .[0]) as $walk
  | if $walk | has("failure") then
      error("validation could not reach the values to check: \($walk.failure)")
    else
      $walk.paths
    end
;

# validate(paths; condition; expected): every value at `paths` must satisfy
# `condition` (evaluated with that value as input); `expected` (also given
# the failing value) says in words what was wanted, e.g.
#   validate(.size; type == "number" and . >= 0; "a non-negative number")
def validate(paths; condition; expected):
  reduce _validate_paths(paths)[] as $path (.;
    getpath($path) as $value
    | ($value | _validate_failure(condition)) as $failure
    | if $failure == null then
        .
      else
        ([$value | expected | _validate_describe] | join(", ")) as $expectation
        | error(
            "invalid value at \($path | tojson): \($value | _validate_show)"
            + " (expected \($expectation)"
            + (if $failure == "" then "" else "; the check \($failure)" end)
            + ")"
          )
      end
  )
;

# validate(paths; condition): as validate/3 with a generic expectation.
def validate(paths; condition):
  validate(paths; condition; "a value that passes the validation check")
;

# validate(condition): the input itself must satisfy `condition`.
def validate(condition):
  validate(.; condition)
;

# validate_IN(paths; allowed): every value at `paths` must equal one of the
# values `allowed` yields; `allowed` is evaluated once, on the input (like
# the `paths`), so it may refer to other fields of the document.
def validate_IN(paths; allowed):
  [allowed] as $allowed
  | validate(paths; . as $value | any($allowed[]; . == $value); "one of \($allowed | tojson)")
;

# validate_IN(allowed): the input must equal one of the values `allowed`
# yields (the checking twin of jq's `IN(allowed)`).
def validate_IN(allowed):
  validate_IN(.; allowed)
;

# validate_length(paths; lengths): `length` of every value at `paths` (string
# characters, array items, object keys) must equal one of the numbers
# `lengths` yields; `lengths` is evaluated once, on the input.
def validate_length(paths; lengths):
  [lengths] as $lengths
  | validate(
      paths;
      (type == "string" or type == "array" or type == "object")
      and (length as $length | any($lengths[]; . == $length));
      "a string, array or object of length \($lengths | map(tostring) | join(" or "))"
    )
;

# validate_length(lengths): the input's length must be one of `lengths`.
def validate_length(lengths):
  validate_length(.; lengths)
;

# validate_one(paths; alternatives): for every value at `paths`, exactly one
# of the conditions that `alternatives` yields (evaluated on that value) must
# be truthy, like JSON Schema's "oneOf", e.g.
#   validate_one(.size; type == "number", type == "string")
# The alternatives must not raise errors; guard them (`type == "object" and
# ...`) the same way as any condition.
def validate_one(paths; alternatives):
  validate(
    paths;
    [alternatives | select(.)] | length == 1;
    "exactly one of the alternatives to hold"
  )
;

# validate_one(alternatives): exactly one alternative holds for the input.
def validate_one(alternatives):
  validate_one(.; alternatives)
;
