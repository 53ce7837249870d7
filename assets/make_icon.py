"""Draws assets/icon.png (256 x 256): three clusters of users in the app's segment colours on a dark
rounded square. Run from the repository root: python assets/make_icon.py"""

import random

from PIL import Image, ImageDraw

S = 256
img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
d = ImageDraw.Draw(img)
d.rounded_rectangle([8, 8, S - 8, S - 8], radius=48, fill=(30, 34, 40, 255))
# The charts' first three segment colours (Okabe-Ito): blue, orange, green.
clusters = [((92, 100), (0, 114, 178)), ((168, 108), (230, 159, 0)), ((128, 172), (0, 158, 115))]
rng = random.Random(6)
for (cx, cy), colour in clusters:
    for _ in range(14):
        x = cx + rng.gauss(0, 15)
        y = cy + rng.gauss(0, 15)
        r = 7
        d.ellipse([x - r, y - r, x + r, y + r], fill=colour + (255,))
    d.ellipse([cx - 34, cy - 34, cx + 34, cy + 34], outline=colour + (200,), width=3)
img.save("assets/icon.png")
