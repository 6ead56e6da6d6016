# Sort keys for `sort_by(...)`.
#
# Why this module exists: jq only sorts by its own value order, which puts
# "v10" before "v9", cannot sort descending inside a multi-part key, and has
# no notion of "these values first". Deploy planning needs all three to order
# platforms the way the published indexes list them (linux/amd64 first, newer
# variants and OS versions first), and the order must be the same on jq 1.6,
# jq 1.7 and our embedded engine, so everything here is built from plain
# comparisons of strings, numbers and arrays (no floats, no locale).
#
# Key shapes are an implementation detail: compare them, do not print them.

# Natural ordering: a string is split into alternating text and digit runs,
# always starting with a text run (possibly ""), so that digit runs compare
# numerically ("v9" < "v10").  A digit run becomes [significant-digit count,
# digits without leading zeros] rather than a number, so arbitrarily long runs
# (dates, build numbers, hex-ish ids) never lose precision and every jq
# implementation orders them the same way.  Non-strings are returned as-is.
def sort_split_natural:
  if type != "string" then
    .
  else
    # Found with explode and slicing, not regular expressions: a regex is
    # compiled on every call, which dominated planning time.
    . as $string
    | if any(explode[]; . >= 48 and . <= 57) | not then
        [$string]
      else
        (explode | map(. >= 48 and . <= 57)) as $digit
        | ($digit | length) as $length
        | ([0] + [range(1; $length) | select($digit[.] != $digit[. - 1])] + [$length]) as $bounds
        | (if $digit[0] then [""] else [] end)
        + [
            range($bounds | length - 1) as $index
            | $string[$bounds[$index]:$bounds[$index + 1]]
            | if $digit[$bounds[$index]] then
                until(startswith("0") | not; .[1:]) | [length, .]
              else
                .
              end
          ]
      end
  end
;

# Inverts the order of one key element: strings become their negated code
# points plus a terminator that is greater than any of them (so "abc" sorts
# before "ab", as descending requires), numbers are negated, arrays are
# inverted element by element, and null/false/true swap ends.
# The first two array levels (all a sort_split_natural key has) are handled
# without recursion, which our embedded engine runs many times slower.
def _sort_invert_scalar:
  type as $type
  | if $type == "string" then
      (explode | map(0 - .)) + [1]
    elif $type == "number" then
      0 - .
    elif . == null then
      true
    elif . == true then
      null
    else
      .
    end
;

def _sort_invert:
  def deep: if type == "array" then map(deep) else _sort_invert_scalar end;
  if type == "array" then
    map(
      if type == "array" then
        map(if type == "array" then map(deep) else _sort_invert_scalar end)
      else
        _sort_invert_scalar
      end
    )
  else
    _sort_invert_scalar
  end
;

# Descending order: strings are split naturally and then every part is
# inverted, so "v10" > "v9" and "10.0.20348" sorts before "10.0.17763".
# Arrays (for example a key from sort_split_natural) are inverted part by
# part.  Note the deliberate "prefix first" rule that this gives: a key that
# is a strict prefix of another still sorts first ("v9" before "v9.5" before
# "v9.0"), which is the order the reference tool publishes platform variants
# in.  The empty string (a missing value) sorts after every non-empty string.
def sort_split_desc:
  if . == "" then
    # above every inverted key, including those of strings that start with a
    # digit (whose natural split starts with an empty text run, [1] inverted)
    [[2]]
  elif type == "string" then
    sort_split_natural | _sort_invert
  else
    _sort_invert
  end
;

# Preference lists: values yielded by `preferred` sort first, in the order
# they are yielded; values yielded by `last` sort at the very end, in the
# order they are yielded; every other value sorts in between, in natural
# order (see sort_split_natural).  Both arguments are generators, e.g.
#   sort_by(.architecture | sort_split_pref("amd64", "arm64"))
#   sort_by(.os | sort_split_pref("linux"; "unknown"))
# (to pass an array, expand it: sort_split_pref($list[])).
def sort_split_pref(preferred; last):
  . as $value
  # indices([x]) finds the element x in every jq (indices(x) would search
  # for a sub-array when x is itself an array)
  | ([preferred] | indices([$value]) | .[0]) as $first_index
  | if $first_index != null then
      [0, $first_index]
    else
      ([last] | indices([$value]) | .[0]) as $final_index
      | if $final_index != null then
          [2, $final_index]
        else
          [1, ($value | sort_split_natural)]
        end
    end
;

def sort_split_pref(preferred):
  sort_split_pref(preferred; empty)
;
