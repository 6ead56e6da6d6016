# meta-queue.out.json (--tab), input meta-queue.in.json: the arm32v7
# queue without the skipped builds, the new jobs record ("now" is 0), and
# how many builds were skipped.
include "jenkins";
.pastJobs as $pastJobs
| .builds
| get_arch_queue("arm32v7") as $queue
| ($queue | jobs_record($pastJobs; 0)) as $newJobs
| ($queue | filter_skips_queue($newJobs)) as $filtered
| $filtered, $newJobs, ($queue | length) - ($filtered | length)
