"""Equirectangular (ERP) panoramas drawn in code, with objects at known azimuth / elevation.

An ERP image maps longitude (azimuth) linearly to x and latitude (elevation) linearly to y:

    azimuth   = (x + 0.5) / W * 360 - 180     0 = front (image centre), +90 = right, -90 = left,
                                              +-180 = behind (the left and right edges: the seam)
    elevation = 90 - (y + 0.5) / H * 180       +90 = zenith (top row), -90 = nadir (bottom row)

Objects are flat shapes (circle, square, triangle) of a given *angular* radius on the viewing
sphere. Each pixel's viewing direction is projected onto the tangent plane at the object's centre
(gnomonic projection) and tested against the shape there, so the drawing has the two properties
that make ERP images hard (360-R1 §1, §3): an object near the seam wraps around and appears
split across the left and right edges, and an object near a pole is stretched horizontally by
about 1 / cos(elevation) (`horizontal_stretch`). The background (ceiling, walls with a corner
every 90 degrees of azimuth, floor, horizon) is drawn with PIL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

COLORS = {"red": (215, 40, 40), "green": (40, 165, 60), "blue": (40, 80, 215), "yellow": (235, 200, 30),
          "purple": (145, 55, 175)}  # fmt: skip
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Obj:
    color: str
    shape: str
    azimuth: float  # degrees in (-180, 180]
    elevation: float  # degrees in [-90, 90]
    radius: float  # angular radius in degrees

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


def wrap(deg: float) -> float:
    """An angle in degrees wrapped into (-180, 180]."""
    d = math.fmod(deg, 360.0)
    if d <= -180:
        d += 360
    elif d > 180:
        d -= 360
    return d


def pixel_to_angles(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of the centre of pixel (x, y)."""
    return (x + 0.5) / width * 360.0 - 180.0, 90.0 - (y + 0.5) / height * 180.0


def angles_to_pixel(azimuth: float, elevation: float, width: int, height: int) -> tuple[float, float]:
    """Continuous pixel coordinates (x, y) of a direction (inverse of `pixel_to_angles`)."""
    return (wrap(azimuth) + 180.0) / 360.0 * width - 0.5, (90.0 - elevation) / 180.0 * height - 0.5


def direction(azimuth, elevation):
    """Unit vectors (x = right, y = up, z = front) of directions in degrees (arrays broadcast)."""
    az, el = np.radians(azimuth), np.radians(elevation)
    return np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], axis=-1)


def angular_distance(a: Obj, b: Obj) -> float:
    """Great-circle distance in degrees between two objects' centres."""
    d = float(
        np.clip(np.dot(direction(a.azimuth, a.elevation), direction(b.azimuth, b.elevation)), -1.0, 1.0)
    )
    return math.degrees(math.acos(d))


def horizontal_stretch(elevation: float) -> float:
    """How much wider (in ERP pixels per degree of arc) an object is drawn at ``elevation`` than at
    the horizon: 1 / cos(elevation)."""
    return 1.0 / max(math.cos(math.radians(elevation)), 1e-6)


@lru_cache(maxsize=8)
def pixel_directions(width: int, height: int) -> np.ndarray:
    """(H, W, 3) unit viewing directions of every pixel centre (read-only, cached per size)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    d = direction(*pixel_to_angles(xs, ys, width, height))
    d.flags.writeable = False
    return d


def tangent_coords(obj: Obj, width: int, height: int):
    """Gnomonic coordinates (u right, v up; tan of the angle) of every pixel around ``obj``, and
    a mask of pixels in front of the tangent plane."""
    d = pixel_directions(width, height)
    c = direction(obj.azimuth, obj.elevation)
    east = np.array([math.cos(math.radians(obj.azimuth)), 0.0, -math.sin(math.radians(obj.azimuth))])
    north = np.cross(c, east)  # up on the sphere at the centre
    depth = d @ c
    front = depth > 1e-6
    safe = np.where(front, depth, 1.0)
    return (d @ east) / safe, (d @ north) / safe, front


def shape_mask(obj: Obj, width: int, height: int) -> np.ndarray:
    """Boolean (H, W) mask of the pixels the object covers."""
    u, v, front = tangent_coords(obj, width, height)
    r = math.tan(math.radians(obj.radius))
    if obj.shape == "circle":
        inside = u * u + v * v <= r * r
    elif obj.shape == "square":
        inside = (np.abs(u) <= r * 0.85) & (np.abs(v) <= r * 0.85)
    elif obj.shape == "triangle":  # apex up: (0, r), base corners (-r, -r) and (r, -r)
        inside = (v >= -r) & (np.abs(u) <= (r - v) / 2)
    else:
        raise ValueError(f"unknown shape {obj.shape!r}; one of {SHAPES}")
    return inside & front


def draw_background(width: int, height: int):
    """A room: ceiling, walls with vertical corner lines every 90 degrees, floor, horizon line."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (200, 200, 205))
    d = ImageDraw.Draw(img)
    wall_top, wall_bottom = int(height * 0.3), int(height * 0.7)
    d.rectangle([0, 0, width, wall_top], fill=(228, 228, 232))  # ceiling
    d.rectangle([0, wall_bottom, width, height], fill=(150, 135, 120))  # floor
    for az in (-135, -45, 45, 135):  # room corners
        x = round(angles_to_pixel(az, 0, width, height)[0])
        d.line([x, wall_top, x, wall_bottom], fill=(170, 170, 178), width=1)
    d.line([0, height // 2, width, height // 2], fill=(185, 185, 190), width=1)
    return img


def render(objects: list[Obj], width: int = 224, height: int = 112):
    """The panorama (PIL RGB) with ``objects`` drawn on the room background, later ones on top."""
    from PIL import Image

    arr = np.asarray(draw_background(width, height)).copy()
    for o in objects:
        arr[shape_mask(o, width, height)] = COLORS[o.color]
    return Image.fromarray(arr)
