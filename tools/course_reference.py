"""Write the course's reference run, `dwm_tutorial/course_reference.json`: the points each lesson adds to the running
trade-off figure (`report.plot_course`), read from `results/course/lesson<n>_full.json`, which the lessons write when they
run on the full data. Run it after re-running the lessons that call `save_course` (in order: each lesson draws the earlier
ones' points); `tests/test_lessons.py` checks that every committed lesson prints the numbers the reference holds."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'dwm_tutorial' / 'course_reference.json'


def saving_lessons() -> dict:
    "Lesson number -> notebook name, for every lesson that calls save_course(<its number>, ...)."
    out = {}
    for nb in sorted((ROOT / 'nbs' / 'tutorials').glob('*.ipynb')):
        code = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        for n in re.findall(r'save_course\((\d+),', code): out[int(n)] = nb.stem
    return out


def main() -> int:
    from dwm_tutorial.data import atomic_write
    from dwm_tutorial.report import _course_file
    lessons, found, problems = saving_lessons(), {}, []
    for n, name in sorted(lessons.items()):
        f = _course_file(ROOT / 'results', n, full=True)
        if not f.is_file(): problems.append(f'lesson {n} ({name}): no {f.relative_to(ROOT)}; run the lesson on the full data')
        else: found[str(n)] = json.loads(f.read_text())['points']
    if problems:
        print('\n'.join(problems), file=sys.stderr)
        return 1
    about = json.loads(OUT.read_text())['about'] if OUT.is_file() else ''
    atomic_write(OUT, json.dumps(dict(about=about, lessons=found), indent=1, ensure_ascii=False) + '\n')
    print(f'{OUT.relative_to(ROOT)}: lessons {", ".join(found)} ({sum(map(len, found.values()))} points)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
