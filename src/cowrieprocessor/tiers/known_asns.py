"""AS numbers whose type is known without guessing from the name: the networks that source most honeypot
traffic, and the large carriers whose names say nothing (``Chinanet``, ``VNPT Corp``, ``Viettel Group``).

Each entry was checked against the organisation's own description of the network (cloud and hosting
providers' published AS numbers; carriers' access networks). ``tiers.classify`` consults this table first;
docs/asn-types.md says how it was chosen and what it changes.
"""

from __future__ import annotations

_CLOUD = (
    16509, 14618, 8987,  # Amazon (AWS)
    15169, 396982, 19527, 36040, 139070, 139190,  # Google, Google Cloud
    8075, 8068, 8069, 12076,  # Microsoft (Azure)
    37963, 45102, 24429, 134963,  # Alibaba Cloud
    45090, 132203, 132591, 133478,  # Tencent Cloud
    31898,  # Oracle Cloud
    36351,  # IBM Cloud (SoftLayer)
    136907, 55990, 265443,  # Huawei Cloud
    14061,  # DigitalOcean
    63949,  # Akamai Connected Cloud (Linode)
    20473,  # Vultr (The Constant Company)
    16276, 35540,  # OVHcloud
    24940, 213230, 212317,  # Hetzner
    12876,  # Scaleway
    51167, 40021, 141995,  # Contabo
    137718, 138699,  # Volcano Engine (ByteDance)
    38365, 55967,  # Baidu Cloud
    135377, 59019,  # UCloud, Kingsoft Cloud
    13335,  # Cloudflare
    9009,  # M247
    62240,  # Clouvider
    396356,  # Latitude.sh / Maxihost
)  # fmt: skip

_HOSTING = (
    31034,  # Aruba S.p.A.
    49981,  # WorldStream
    8560, 8972,  # IONOS
    6724,  # Strato
    197540,  # netcup
    26496, 398101,  # GoDaddy
    36236,  # NetActuate
    32875,  # Wowrack
    202425,  # IP Volume
    36352,  # ColoCrossing (HostPapa)
    60781, 16265, 28753, 7203, 59253,  # Leaseweb
    40676,  # Psychz Networks
    49505,  # Selectel
    9123,  # Timeweb
    53667,  # FranTech (BuyVM)
    7393,  # Cybercon
    57169,  # EDIS
    212238,  # Datacamp (CDN77)
    17378,  # TierPoint
    54111,  # US Signal
    19318,  # Interserver
    46606,  # Unified Layer (Bluehost)
    398324, 211252,  # Censys, Akari Networks
    200019, 206264, 204428,  # AlexHost, Amarutu, SS-Net
    44477, 210644,  # Stark Industries, AEZA
    47583, 44592,  # Hostinger, SkyLink Data Center
    396073,  # Majestic Hosting
)  # fmt: skip

_ISP = (
    4134, 4812, 4816, 4809, 58461, 134763, 136190, 140292, 151185,  # China Telecom (Chinanet)
    4837, 4808, 17621, 17816, 133119, 4847,  # China Unicom
    9808, 56040, 56041, 56046, 56047, 24400, 134810,  # China Mobile
    9394,  # China TieTong
    7018,  # AT&T
    701, 6167,  # Verizon
    7922,  # Comcast
    20115, 11427, 20001, 10796,  # Charter Spectrum
    209, 22773,  # CenturyLink / Lumen access, Cox
    6079,  # RCN
    4766, 3786, 9318, 17858,  # Korea Telecom, LG U+, SK Broadband, LG POWERCOMM
    1221,  # Telstra
    3462,  # HiNet (Chunghwa Telecom)
    7552, 45899, 18403, 24086,  # Viettel, VNPT, FPT
    9829, 17813,  # BSNL, MTNL
    9498, 45609, 24560, 36873,  # Bharti Airtel, Airtel Networks
    30722, 16019, 3209, 12430, 1273, 5089,  # Vodafone, Virgin Media
    3215, 5511,  # Orange
    12322,  # Free
    5432,  # Proximus
    3320,  # Deutsche Telekom
    3352, 6147, 7303, 10429, 18881, 27699,  # Telefonica / Vivo
    8151,  # Uninet (Telmex)
    28573, 4230, 7738, 26599, 8167, 26615,  # Claro, NET, Oi, Vivo, V.tal, TIM Brasil
    12389,  # Rostelecom
    8402, 3216,  # Vimpelcom (Beeline)
    9121, 34984,  # Turk Telekom, Superonline
    3301,  # Telia
    8434, 2119,  # Telenor
    6830,  # Liberty Global
    8452,  # TE Data (Telecom Egypt)
    7713, 4761,  # Telkom Indonesia, Indosat
    4800,  # Lintasarta
    23969,  # TOT
    45758, 131445,  # 3BB, AWN
    9299, 132199,  # PLDT, Globe
    4788, 9534,  # TM Net, Maxis
    27947, 28006, 26613,  # Telconet, CNT (Ecuador)
    22047,  # VTR
    5645,  # TekSavvy
    8551,  # Bezeq International
    2856,  # BT
    3269,  # Telecom Italia
    25184, 43754,  # Afranet, Asiatech
    23674,  # Nayatel
    21555,  # Laurel Highland Telephone
)  # fmt: skip

_MOBILE = (
    12714,  # MegaFon
    25671,  # Wholesale Air-time
    21928, 22394,  # T-Mobile US, Verizon Wireless (Cellco)
    16284,  # Vodacom Business Nigeria
)  # fmt: skip

_EDUCATION = (
    1887,  # NASK (Polish research and academic network)
    1916,  # RNP (Brazil's national research and education network)
    2614,  # RoEduNet
    11537,  # Internet2
    786,  # Jisc (JANET)
    680,  # DFN
    2200,  # RENATER
)  # fmt: skip

_GOVERNMENT = (721, 27064, 749, 38765)  # US DoD (DISA), DoD NIC, ministry networks

KNOWN: dict[int, str] = {
    **dict.fromkeys(_ISP, "ISP"),
    **dict.fromkeys(_MOBILE, "MOBILE"),
    **dict.fromkeys(_EDUCATION, "EDUCATION"),
    **dict.fromkeys(_GOVERNMENT, "GOVERNMENT"),
    **dict.fromkeys(_HOSTING, "HOSTING"),
    **dict.fromkeys(_CLOUD, "CLOUD"),
}
