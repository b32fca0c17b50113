"""Import a five-clears ledger spreadsheet from the shell (the operator's way in)."""

import hashlib
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ledgers import imports
from ledgers.models import LedgerImport
from members.models import Organisation
from members.selectors import scope_root_of


class Command(BaseCommand):
    help = (
        "Import a five-clears ledger (.xlsx, .xls, .ods or .csv). All rows or none: a file with any error "
        "writes nothing. Use --dry-run to only check it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The spreadsheet (.xlsx, .xls, .ods or .csv).")
        parser.add_argument(
            "--branch",
            help="Branch for rows without 所在党支部: organisation code, numeric id or exact name.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and show; write nothing.")
        parser.add_argument("--user", help="Import as this user (default: the first superuser).")

    def handle(
        self, *args, file: str, branch: str | None, dry_run: bool, user: str | None, **options
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        content = path.read_bytes()
        actor = self._user(user)
        default_branch = self._branch(branch) if branch else None

        if dry_run:
            plan = imports.plan_import(
                content=content, file_name=path.name, user=actor, default_branch=default_branch
            )
            self._report(plan, dry_run=True)
            if not plan.ok:
                raise CommandError("文件有错误：请改正后再导入。")
            return

        branch_for_record = (
            default_branch
            or scope_root_of(actor)
            or Organisation.objects.get_root_nodes().order_by("path").first()
        )
        if branch_for_record is None:
            raise CommandError("数据库里还没有任何党组织。")
        job = LedgerImport.objects.create(
            user=actor,
            branch=branch_for_record,
            file_name=path.name[:200],
            file_sha256=hashlib.sha256(content).hexdigest(),
            status=LedgerImport.Status.RUNNING,
        )

        def progress(done: int, total: int) -> None:
            LedgerImport.objects.filter(pk=job.pk).update(rows_done=done, rows_total=total)
            if options["verbosity"] >= 2:
                self.stdout.write(f"已写入 {done}/{total} 行")

        try:
            plan = imports.apply_import(
                content=content,
                file_name=path.name,
                user=actor,
                default_branch=default_branch,
                progress=progress,
            )
        except Exception:
            job.status, job.finished_at = LedgerImport.Status.FAILED, timezone.now()
            job.save()
            raise
        counts = plan.counts
        job.status = LedgerImport.Status.APPLIED if plan.applied else LedgerImport.Status.FAILED
        job.created, job.updated, job.unchanged = (
            counts["create"],
            counts["update"],
            counts["unchanged"],
        )
        job.rows_total = len(plan.rows)
        job.rows_imported = plan.importable if plan.applied else 0
        job.rows_left_out = job.rows_total - job.rows_imported
        job.rows_done = job.rows_imported
        job.errors = [
            {"row": issue.row, "column": issue.column, "message": issue.message}
            for issue in plan.issues
        ]
        job.finished_at = timezone.now()
        job.save()
        self._report(plan, dry_run=False)
        if not plan.ok:
            raise CommandError("没有导入任何数据：文件有错误，请改正后重新导入。")

    def _user(self, username: str | None):
        users = get_user_model().objects
        if username:
            found = users.filter(username=username).first()
            if found is None:
                raise CommandError(f"没有用户“{username}”。")
            return found
        found = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if found is None:
            raise CommandError("没有超级用户：请用 --user 指定以谁的身份导入。")
        return found

    def _branch(self, value: str) -> Organisation:
        organisations = Organisation.objects
        matches = list(organisations.filter(code=value)) if value else []
        if not matches and value.isdigit():
            matches = list(organisations.filter(pk=int(value)))
        if not matches:
            matches = list(organisations.filter(name=value))
        if not matches:
            raise CommandError(f"找不到党组织“{value}”（可填写组织编码、编号或全称）。")
        if len(matches) > 1:
            raise CommandError(f"有{len(matches)}个党组织都是“{value}”：请改用编号。")
        return matches[0]

    def _report(self, plan: imports.ImportPlan, *, dry_run: bool) -> None:
        counts = plan.counts
        prefix = "（试运行，未写入）" if dry_run else ""
        self.stdout.write(
            f"{prefix}创建 {counts['create']}，更新 {counts['update']}，"
            f"未变 {counts['unchanged']}，错误 {counts['error']}"
        )
        for issue in plan.issues:
            where = f"第{issue.row}行" if issue.row else "文件"
            column = f" [{issue.column}]" if issue.column else ""
            self.stdout.write(f"{where}{column} {issue.message}")
