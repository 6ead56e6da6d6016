# The Jenkins queue of every arch in $arches at every time in $nows, one
# compact line each: {arch, now, queue, jobs, filtered}. Input {pastJobs,
# builds} as meta-queue.in.json. tests/build_modules.rs compares doi-jq with
# jq 1.7.1 and each line with the retry rule.
include "jenkins";
.pastJobs as $pastJobs
| .builds as $builds
| $arches[] as $arch
| $nows[] as $now
| ($builds | get_arch_queue($arch)) as $queue
| ($queue | jobs_record($pastJobs; $now)) as $jobs
| {arch: $arch, now: $now, queue: $queue, jobs: $jobs, filtered: ($queue | filter_skips_queue($jobs))}
