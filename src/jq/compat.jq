# jq 1.7 builtins that jaq lacks or defines differently. Each definition
# here shadows jaq's (later definitions win), and each is held down by a
# case in testdata/jq-compat (run by tests/jq_compat.rs) naming the jq
# behaviour it proves. Natives named `_jq_*` live in compat.rs.

# Membership and indexing helpers (jq 1.5+, missing from jaq).
def IN(s): any(s == .; .);
# jq compares each output of `source` with each of `s`, `s` outermost.
def IN(source; s): any(s as $s | source == $s; .);
def INDEX(stream; idx_expr):
  reduce stream as $row ({}; .[$row | idx_expr | if type == "string" then . else tojson end] |= $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);

# jq's getpath: an object indexed by a non-string is an error, as our
# value's indexing says (jaq's own values answer null). Written as a path
# expression so setpath/paths work; a path that is not an array is refused
# in jq's words, by setpath too.
def getpath($path):
  if $path | type == "array" then reduce $path[] as $key (.; .[$key])
  else error("Path must be specified as an array") end;
def setpath($path; $x): getpath($path) = $x;

# pick builds arrays for numeric paths, as jq does.
def pick(pathexps): . as $top | reduce path(pathexps) as $p (null; setpath($p; $top | getpath($p)));

# Non-strings pass through ltrimstr/rtrimstr unchanged.
def ltrimstr($prefix):
  if type == "string" and ($prefix | type) == "string" and startswith($prefix) then .[($prefix | length):] else . end;
def rtrimstr($suffix):
  if type == "string" and ($suffix | type) == "string" and endswith($suffix) and ($suffix | length) > 0
  then ($suffix | length) as $cut | .[:length - $cut] else . end;

# A negative limit emits everything (jq 1.7); jaq's native counts the
# rest (as jq's foreach does, `limit(1.5; f)` takes two).
def limit($n; f): if $n > 0 then _jaq_limit($n; f) elif $n == 0 then empty else f end;

# walk, tostream, to_entries, tostring and add are natives (builtins.rs).

# Each element of the first array with each combination of the rest (jaq's
# definition forks in `reduce`, which jq's reduce does not).
def combinations:
  if length == 0 then [] else .[0][] as $first | (.[1:] | combinations) as $rest | [$first] + $rest end;
# jq's C builtins evaluate their last argument outermost.
def nexttoward(x; y): y as $y | nextafter(x; $y);
def combinations(n): . as $dot | [range(n)] | map($dot) | combinations;

# Deletion keeps the remaining keys in order and removes array elements
# from the end first (jq sorts the paths).
def delpaths($paths): _jq_delpaths($paths);
def del(f): delpaths([path(f)]);

# jq 1.7.1 takes the key from key, Key, name or Name (the first that is
# neither null nor false) and the value from value, else Value; a key that
# is not a string is refused as object construction refuses it.
# The native answers null (declines) for anything else, such as a key that
# is not a string, and this definition then fails as jq does.
def from_entries:
  _jq_from_entries //
  reduce .[] as $entry ({};
    . + { ($entry | .key // .Key // .name // .Name):
          ($entry | if has("value") then .value else .Value end) });
def with_entries(f): to_entries | map(f) | from_entries;

# join turns null into "" and numbers and booleans into their JSON text;
# anything else is added as it is, so arrays and objects fail with jq's
# "cannot be added" message.
# The native declines (null) what jq would refuse.
def join($separator):
  _jq_join($separator) //
  reduce .[] as $item (null;
    ($item | if . == null then "" elif type == "number" or type == "boolean" then tojson else . end) as $text
    | (if . == null then "" else . + $separator end) + $text) // "";

# Text conversions use our jq-exact printer (tojson and tostring are native).
def @text: tostring;
def @json: tojson;
def @base64d: tostring | _jq_base64_decode;
def @csv:
  if type != "array" then error("\(_jq_describe) cannot be csv-formatted, only array") else
  map(if type == "string" then "\"" + (. / "\"" | join("\"\"")) + "\""
      elif type == "number" and _jq_number_class == "nan" then ""
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      else error("\(_jq_describe) is not valid in a csv row") end)
  | join(",") end;
def @tsv:
  if type != "array" then error("\(_jq_describe) cannot be tsv-formatted, only array") else
  map(if type == "string" then (. / "\\" | join("\\\\")) / "\t" | join("\\t") | . / "\n" | join("\\n") | . / "\r" | join("\\r")
      elif type == "number" and _jq_number_class == "nan" then ""
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      # sic: jq 1.7.1's @tsv names a csv row.
      else error("\(_jq_describe) is not valid in a csv row") end)
  | join("\t") end;
# Strings quoted, scalars as their JSON text, arrays and objects refused.
def @sh:
  [if type == "array" then .[] else . end
   | if type == "string" then "'" + (. / "'" | join("'\\''")) + "'"
     elif type == "array" or type == "object" then error("\(_jq_describe) can not be escaped for shell")
     else tojson end]
  | join(" ");
# jq 1.7.1's formats: `@name` and `format(name)` know these names
# (visible.rs's FORMATS); `@name` of any other is `_jq_format("name")`
# (tree.rs), an error once something is formatted.
def _jq_format($name):
  if $name == "text" then @text elif $name == "json" then @json
  elif $name == "html" then @html elif $name == "uri" then @uri
  elif $name == "csv" then @csv elif $name == "tsv" then @tsv
  elif $name == "sh" then @sh elif $name == "base64" then @base64
  elif $name == "base64d" then @base64d
  else error(($name | if type == "string" then . else _jq_describe end) + " is not a valid format") end;
def format($name): _jq_format($name);

# jq 1.7.1 parses a string as a JSON text (its errors pass through) and
# takes only a number from it.
def tonumber:
  if type == "number" then .
  elif type == "string" then
    . as $text | fromjson
    | if type == "number" then . else $text | error("\(_jq_describe) cannot be parsed as a number") end
  else error("\(_jq_describe) cannot be parsed as a number") end;
# jq 1.7.1's messages for the strings these require (sic: its case
# conversions name explode).
def startswith($s):
  if type == "string" and ($s | type) == "string" then _jaq_startswith($s)
  else error("startswith() requires string inputs") end;
def endswith($s):
  if type == "string" and ($s | type) == "string" then _jaq_endswith($s)
  else error("endswith() requires string inputs") end;
def explode: if type == "string" then _jaq_explode else error("explode input must be a string") end;
def ascii_downcase:
  if type == "string" then _jaq_ascii_downcase else error("explode input must be a string") end;
def ascii_upcase:
  if type == "string" then _jaq_ascii_upcase else error("explode input must be a string") end;

# jq 1.7.1 sorts, groups and picks by `map([f])`, so what is not an array
# fails to iterate and an object fails beside its keys; the natives take
# arrays. Its reverse of what is not an array is `[.[length - 1 - ...]]`.
def _jq_by_refused(f; $problem):
  map([f]) as $keys | _jq_describe as $input | ($keys | _jq_describe) as $shown
  | error("\($input) and \($shown) cannot be \($problem)");
def sort:
  if type == "array" then _jaq_sort else error("\(_jq_describe) cannot be sorted, as it is not an array") end;
def sort_by(f):
  if type == "array" then _jaq_sort_by(f) else _jq_by_refused(f; "sorted, as they are not both arrays") end;
def group_by(f):
  if type == "array" then _jaq_group_by(f) else _jq_by_refused(f; "sorted, as they are not both arrays") end;
def unique_by(f): if type == "array" then [_jaq_group_by(f)[] | .[0]] else group_by(f) end;
def unique: unique_by(.);
def min_by(f):
  if type == "array" then reduce min_by_or_empty(f) as $x (null; $x) else _jq_by_refused(f; "iterated over") end;
def max_by(f):
  if type == "array" then reduce max_by_or_empty(f) as $x (null; $x) else _jq_by_refused(f; "iterated over") end;
def reverse: if type == "array" then _jaq_reverse else [range(0; length) as $at | .[length - 1 - $at]] end;

# jq 1.7.1 searches arrays and strings (the natives); anything else gets
# what `.[$i]` gives it, and bsearch what `length` and `.[0]` give.
def indices($i):
  if type == "array" then
    (if ($i | type) != "array" then _jq_indices([$i]) elif $i == [] then [] else _jq_indices($i) end)
  elif type == "string" and ($i | type) == "string" then (if $i == "" then [] else _jq_indices($i) end)
  else .[$i] end;
def index($i): indices($i) | .[0];
def rindex($i): indices($i) | .[-1:][0];
def bsearch($target): if type == "array" then _jq_bsearch($target) elif length == 0 then -1 else .[0] end;

# jq 1.7.1's nth counts down from `$n + 1`, so `nth(1.5; f)` is the
# third output (skip's count), a `$n` that is not a number fails to add,
# and it is a path expression (`path(nth(1; .[]))`). Its `last` of
# nothing is null.
def nth($n; f):
  if $n < 0 then error("nth doesn't support negative indices")
  elif ($n | type) != "number" then $n + 1
  else first(skip($n; f)) end;
def last(f): _jq_one(_jaq_last(f), null);
def nth($n): .[$n];
# jq 1.7.1's _flatten (native) recurses while the depth is not 0, so a
# fractional depth flattens fully, as jq's does.
def flatten($depth):
  if $depth < 0 then error("flatten depth must not be negative") else _jq_flatten($depth) end;
def flatten: _jq_flatten(-1);
# SQL-style helpers (jq 1.6+).
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;
def utf8bytelength: _jq_utf8bytelength;

# Streaming forms (jq 1.5+; tostream is native).
# `l |= r` where l recurses (update.rs): paths found first, as jq's _modify.
def _jq_modify_paths(paths; update): _jq_modify_each(path(paths); update);
def fromstream(f):
  { x: null, e: false } as $init
  | foreach f as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | $i[1] as $value | setpath(["x"] + $i[0]; $value)
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
def truncate_stream(stream): . as $n | null | stream | . as $input | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;

# Regexes as jq 1.7.1 has them, all on one native match (`regex.rs`)
# that builds jq's match objects; as jq's C functions do, the flags are
# evaluated outermost.
def _jq_matches(re; flags): flags as $flags | re as $re | _jq_match($re; $flags);
def match(re; flags): _jq_matches(re; flags)[];
def test(re; flags): flags as $flags | re as $re | _jq_test($re; $flags);
# A group that did not take part is null, as in jq.
def _jq_groups:
  reduce (.captures[] | select(.name != null)) as $group ({}; . + {($group.name): $group.string});
def capture(re; flags): flags as $flags | match(re; $flags) | _jq_groups;
def scan(re; flags):
  ("g" + flags) as $flags | match(re; $flags) | if .captures | length > 0 then [.captures[].string] else .string end;
# The pieces between the matches, by jq's code point offsets.
def split(re; flags): re as $re | . as $text
  | [0, (("g" + flags) as $flags | match($re; $flags) | .offset, (.length as $length | .offset + $length)), length] as $bounds
  | [range(0; $bounds | length; 2) as $at | $bounds[$at] as $from | $bounds[$at + 1] as $to | $text[$from:$to]];
def splits(re; flags): split(re; flags)[];
def splits(re): splits(re; null);
# The one-argument forms take a regex or `[regex, flags]`.
def _jq_regex_args:
  type as $type
  | if $type == "string" then [., null]
    elif $type == "array" and length > 0 then [.[0], .[1]]
    else error("\($type) not a string or array") end;
def match($val): ($val | _jq_regex_args) as [$re, $flags] | match($re; $flags);
def test($val): ($val | _jq_regex_args) as [$re, $flags] | test($re; $flags);
def capture($val): ($val | _jq_regex_args) as [$re, $flags] | capture($re; $flags);
def scan(re): scan(re; null);
# jq 1.7.1's replacement: the n-th output of `f` at each match goes into
# the n-th result (a match with fewer outputs leaves the later results as
# they are), and a string `f` gives nothing for at all comes back whole.
# One result for each regex, and for each flags within it (jq's `$re`
# and `$flags` parameters).
def sub(re; f; flags): re as $re | flags as $flags | . as $text
  | reduce match($re; $flags) as $edit ({results: [], previous: 0};
      (.previous as $from | $edit.offset as $to | $text[$from:$to]) as $gap
      | [$edit | _jq_groups | f] as $inserts
      | reduce range($inserts | length) as $at (.; .results[$at] += $gap + $inserts[$at])
      | .previous = ($edit.length as $length | $edit.offset + $length))
  | if .results == [] then $text else $text[.previous:] as $rest | .results[] + $rest end;
def sub(re; f): sub(re; f; "");
def gsub(re; f; flags): sub(re; f; flags + "g");
def gsub(re; f): sub(re; f; "g");

# Diagnostics print as jq does: `debug` as ["DEBUG:",v], `stderr` and
# `halt_error` strings raw, other values as compact JSON.
def debug: _jq_debug;
def debug(message): (message | _jq_debug | empty), .;
def stderr: _jq_stderr;
def halt_error($exit_code): _jq_halt_error($exit_code);
def halt_error: halt_error(5);
def input: _jq_input;
# jq 1.7 refuses to divide by zero, so these cannot be 1/0 and 0/0.
def infinite: 1e1000 - 0;
def isnan: _jq_number_class == "nan";
def isinfinite: _jq_number_class == "infinite";
def isnormal: _jq_number_class == "normal";
def isfinite: type == "number" and (isinfinite | not);
def nan: infinite - infinite;
def type: _jq_type;
# jq 1.7.1 negates whatever sorts below 0 (null and booleans fail).
def abs: if . < 0 then - . else . end;
def builtins: _jq_builtins;
def get_search_list: [];

# Helpers of jq 1.7.1 that jaq lacks.
def get_jq_origin: null;
def get_prog_origin: null;
# range/1, range/2 and range/3 are natives (builtins.rs), with jq's rules:
# `range(null)` is an error, so an empty matrix transposes to [] here.
def transpose: [range([.[] | length] | max // 0) as $i | [.[][$i]]];

# Dates on the C library's calendar, as jq 1.7.1 has them (`time.rs`).
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def todate: todateiso8601;
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def fromdate: fromdateiso8601;
