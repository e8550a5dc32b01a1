"""Baseline for bench/preprocess.ts: the study's loader path (Keras load_img) with Pillow.

For every image under DIR (class folders): PIL open, convert('RGB'), resize((S, S), NEAREST),
and copy the pixels into one preallocated buffer, as img_to_array would. With MODE 'draft'
(argv[3]; default 'full') the JPEG is first put in draft mode for (S, S), so libjpeg decodes at
the largest 1/2, 1/4 or 1/8 scale that keeps it >= S: Pillow's analogue of dag's
`decode: fast`, NOT what Keras does. Prints one JSON line
{"images": n, "seconds": s, "cpu": s, "pillow": version}. Single process, like Keras' loader thread.
"""
import json
import os
import sys
import time

try:
    from PIL import Image
    import PIL
except ImportError:
    print(json.dumps({"error": "PIL (Pillow) is not installed"}))
    sys.exit(3)


def main() -> None:
    root, size = sys.argv[1], int(sys.argv[2])
    draft = len(sys.argv) > 3 and sys.argv[3] == "draft"
    files = []
    for cls in sorted(os.listdir(root)):
        d = os.path.join(root, cls)
        if os.path.isdir(d):
            files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".jpg")]
    frame = size * size * 3
    out = bytearray(len(files) * frame)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i, f in enumerate(files):
        with Image.open(f) as im:
            if draft:
                im.draft("RGB", (size, size))
            if im.mode != "RGB":
                im = im.convert("RGB")
            im = im.resize((size, size), Image.NEAREST)
            out[i * frame:(i + 1) * frame] = im.tobytes()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({"images": len(files), "seconds": dt, "cpu": cpu, "pillow": PIL.__version__}))


if __name__ == "__main__":
    main()
