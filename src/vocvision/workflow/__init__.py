"""The job's steps over a run folder: training, labelling, predicting, submitting, the attack
suite and the classification study. `vocvision.api.Run` calls them."""
