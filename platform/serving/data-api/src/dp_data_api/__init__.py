"""The Data API: one answer per question, Gold (final) up to its watermark and the speed layer (provisional) after."""
