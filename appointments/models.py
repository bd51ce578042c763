# Patients, schedules, slots and appointments arrive with the reception issues.
