"""Re-encrypt every encrypted column with the primary key of FIELD_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from apps.core.encryption import count_stored_values, encrypted_columns, rotate_column


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted columns with the first key in FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys. "
        "Safe to interrupt and run again: values already under the new key are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        total_rotated = 0
        for column in encrypted_columns():
            total = count_stored_values(column)
            with tqdm(
                total=total, desc=column.label, unit="row", file=self.stderr, disable=total == 0
            ) as bar:
                rotated = rotate_column(column, batch_size=batch_size, on_progress=bar.update)
            total_rotated += rotated
            self.stdout.write(f"{column.label}: {rotated} of {total} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total_rotated} values re-encrypted."))
