"""Bulk import of existing students (批量导入) from CSV or XLSX: a migration from another system.

An enrolment officer or admin moves a branch's students in from the system
they used before. The file is a table with a header row; the columns, in any
order (English name or the Chinese heading; headings are matched ignoring
case, surrounding spaces, and spaces or hyphens inside English names):

- ``name`` 姓名 — required;
- ``gender`` 性别 — ``female``, ``male``, ``other``, ``undisclosed`` (女, 男, 其他, 保密);
  blank: undisclosed;
- ``birth_date`` 出生日期 — required, ``YYYY-MM-DD`` (also ``YYYY/M/D``, or an XLSX date);
- ``id_type`` 证件类型 — required: ``prc_resident_id``, ``passport``, ``hk_macao_permit``,
  ``hkid``, ``other`` (居民身份证, 护照, 往来港澳通行证, 香港身份证, 其他);
- ``id_number`` 证件号码, ``phone`` 手机 — required;
- ``email`` 邮箱, ``address`` 地址 — optional;
- ``target_language`` 目标语言 — required; ``current_level`` 当前水平, ``goals`` 学习目标,
  ``preferred_schedule`` 上课时间 — optional;
- ``guardian_name`` 监护人姓名, ``guardian_relation`` 监护人关系, ``guardian_phone`` 监护人手机 —
  all three or none;
- ``guardian_consent`` 监护人同意 — ``yes``/``no`` (是/否); blank: no;
- ``status`` 状态 — ``enrolled``, ``completed``, ``withdrawn``, ``suspended``
  (在读, 已结课, 退学, 休学); blank: enrolled;
- ``admitted_on`` 入学日期 — required, a date, not in the future nor before the birth date.

CSV files are UTF-8, with or without a byte-order mark; XLSX files are read
from their first sheet. Blank rows are skipped. A heading that is not one of
these columns, a column given twice or a required column missing rejects the
whole file (nothing is imported): a misspelt heading would otherwise lose data.

Every row goes through the branch's rules exactly as an online registration
(`BranchRules.validate_registration`), plus the parsing of its cells and two
duplicate checks — within the file (a later row with the same ID document, or
the same name + birth date + phone, as an earlier valid row) and against the
chain (the blind indexes of every student and every pending registration).
Problems name the row as a spreadsheet counts it (the header is row 1), the
column and the rule, never the value of a cell: the report goes to screens
and logs.

An import is a job (`Importer.import_file`, or ``import.start`` over NATS)
that works through the rows in chunks, one transaction each: the chunk's
students (through `dossier.storage.bulk.BulkAdmitter`: numbers, encryption,
blind indexes, an audit entry and the outbox events per student) and the
job's progress commit together. A killed import resumed with the same job
id continues after the last committed chunk, and every imported row's
registration id is derived from the job id and the row number, so no row can
be imported twice. By default the valid rows are imported and the others
reported; a *strict* job first validates the whole file and imports nothing
if any row is invalid.

The modules, in the order a row meets them:

- `sheets` — reading the file: CSV and XLSX rows, the header and its columns;
- `parsing` — a data row's cells as values (`parse_row`);
- `checks` — the branch's rules over a parsed row (`RowChecker`), duplicates
  within the file and against the chain;
- `importer` — the use cases (`Importer`: ``import.start``, ``import.resume``,
  ``import.status``, `Importer.import_file`); the jobs are kept by
  `dossier.storage.repositories.import_jobs` (``uow.import_jobs``).
"""
