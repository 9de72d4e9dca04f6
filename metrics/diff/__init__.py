"""`northstar diff`: what a change to the definitions does to the numbers, between two git revisions."""
