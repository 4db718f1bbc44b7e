"""The demo and benchmark feeds: synthetic files generated and delivered into the landing zone, a code
location of their own (medallion_platform.demo.definitions) beside the pipeline's."""
