"""Chinese names with realistic surname frequencies, so namesakes are as common as in a
real Hunan village (where a few surnames cover most of a village)."""

from __future__ import annotations

import random

# The commonest surnames with weights roughly proportional to their national share,
# Hunan's leading ones (李, 刘, 陈, 张, 王, 杨, 黄, 周, 彭, 胡) a little heavier.
SURNAMES: dict[str, float] = {
    "李": 8.2, "王": 7.1, "张": 6.9, "刘": 6.4, "陈": 6.2, "杨": 3.6, "黄": 3.0, "赵": 2.2,
    "周": 2.3, "吴": 2.0, "徐": 1.7, "孙": 1.5, "胡": 1.6, "朱": 1.3, "高": 1.2, "林": 1.1,
    "何": 1.3, "郭": 1.1, "马": 1.0, "罗": 1.1, "梁": 0.8, "宋": 0.7, "郑": 0.7, "谢": 0.8,
    "韩": 0.6, "唐": 0.8, "冯": 0.5, "于": 0.5, "董": 0.5, "萧": 0.4, "程": 0.5, "曹": 0.5,
    "袁": 0.5, "邓": 0.6, "许": 0.5, "傅": 0.4, "沈": 0.4, "曾": 0.5, "彭": 0.7, "吕": 0.3,
    "苏": 0.4, "卢": 0.4, "蒋": 0.4, "蔡": 0.4, "贾": 0.3, "丁": 0.3, "魏": 0.3, "薛": 0.2,
    "叶": 0.3, "阎": 0.2, "余": 0.3, "潘": 0.3, "杜": 0.3, "戴": 0.3, "夏": 0.3, "钟": 0.3,
    "汪": 0.3, "田": 0.3, "任": 0.3, "姜": 0.3, "范": 0.3, "方": 0.3, "石": 0.3, "姚": 0.3,
    "谭": 0.4, "廖": 0.3, "邹": 0.3, "熊": 0.3, "金": 0.2, "陆": 0.2, "郝": 0.2, "孔": 0.2,
    "白": 0.2, "崔": 0.2, "康": 0.2, "毛": 0.2, "邱": 0.2, "秦": 0.2, "江": 0.2, "史": 0.2,
    "易": 0.2, "喻": 0.1, "左": 0.1, "黎": 0.2, "文": 0.2, "向": 0.1, "龚": 0.1, "严": 0.1,
}

MALE_CHARS = "伟强军勇杰涛明超华平刚建国志红文斌辉波海东林峰磊洋冬春学德新正兵福贵生发富全"
FEMALE_CHARS = "芳娟敏静丽艳娜霞秀英梅兰玲燕红萍琴云凤洁琳雪珍桂花莉慧娥翠菊"
# Homophone or near-form substitutes for the one-character variants of DC-02 plants.
VARIANTS: dict[str, str] = {
    "伟": "玮", "强": "蔷", "军": "君", "杰": "洁", "明": "铭", "华": "桦", "平": "萍",
    "国": "果", "志": "智", "红": "鸿", "文": "雯", "斌": "彬", "辉": "晖", "峰": "锋",
    "芳": "方", "娟": "鹃", "敏": "民", "静": "晶", "丽": "莉", "艳": "燕", "英": "瑛",
    "梅": "媚", "兰": "岚", "玲": "琳", "霞": "侠", "秀": "修", "云": "芸", "春": "椿",
    "林": "琳", "海": "亥", "东": "冬", "波": "博", "学": "雪", "新": "欣", "福": "富",
}

_SURNAME_LIST = list(SURNAMES)
_SURNAME_WEIGHTS = list(SURNAMES.values())


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_LIST, _SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, male: bool) -> str:
    chars = MALE_CHARS if male else FEMALE_CHARS
    # About a third of rural names are one character: the main source of namesakes.
    if rng.random() < 0.35:
        return rng.choice(chars)
    return rng.choice(chars) + rng.choice(chars)


def full_name(rng: random.Random, male: bool, family: str | None = None) -> str:
    return (family or surname(rng)) + given_name(rng, male)


def has_variant(name: str) -> bool:
    return any(char in VARIANTS for char in name[1:])


def variant_of(name: str) -> str:
    """The same name with one character replaced by a homophone (张伟 → 张玮)."""
    for index in range(len(name) - 1, 0, -1):
        if name[index] in VARIANTS:
            return name[:index] + VARIANTS[name[index]] + name[index + 1:]
    raise ValueError(f"{name} has no character with a homophone variant")
