"""The centre's mix for `ekc-admin simulate`: shares of channels and lines, topics with what
callers say about them, Irkutsk-region numbers and senders (product brief, section 1)."""

from __future__ import annotations

from ekc_core.enums import Channel, Line
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS

PHONE_SHARE = 0.85
LINE_WEIGHTS: tuple[tuple[Line, float], ...] = ((Line.l122, 80), (Line.l117, 20))
WRITTEN_WEIGHTS: tuple[tuple[Channel, float], ...] = (
    (Channel.social, 35),
    (Channel.pos, 25),
    (Channel.governor_chat, 15),
    (Channel.web_chat, 15),
    (Channel.email, 10),
)
#: callers whose number a known citizen already has (the rest are new numbers)
KNOWN_CALLER_SHARE = 0.6
#: calls that come through the voice assistant with a transcript
HANDOFF_SHARE = 0.5
#: calls whose number telephony could not read ("anonymous")
HIDDEN_NUMBER_SHARE = 0.02
#: the assistant names the top-level topic instead of the sub-topic this often
ASSISTANT_TOP_LEVEL_SHARE = 0.25
EMOTIONS = ("спокойствие", "тревога", "раздражение", "растерянность")

TOPIC_WEIGHTS = INBOUND_TOPIC_WEIGHTS

#: what callers say, per top-level topic: (sub-topic code, one or two sentences)
SCENARIOS: dict[str, tuple[tuple[str, str], ...]] = {
    "svo": (
        (
            "svo.contract",
            "Хочу заключить контракт на военную службу. Какие документы нужны и куда подойти?",
        ),
        (
            "svo.contract",
            "Сын собирается подписать контракт. Подскажите, где в Иркутске пункт отбора "
            "и как туда записаться?",
        ),
        ("svo.contract", "Мне сорок семь лет, меня возьмут на службу по контракту?"),
        (
            "svo.one_time_payments",
            "Муж подписал контракт месяц назад, а региональную единовременную выплату "
            "так и не перечислили. Куда обращаться?",
        ),
        (
            "svo.family_payments",
            "Я жена участника СВО. Ежемесячная выплата за этот месяц не пришла, когда её ждать?",
        ),
        (
            "svo.family_benefits",
            "Муж на СВО, нам положено место в детском саду вне очереди. "
            "А в садике говорят, что мест нет.",
        ),
        (
            "svo.family_benefits",
            "Как семье участника СВО получить земельный участок бесплатно?",
        ),
        (
            "svo.serviceman_status",
            "Третью неделю нет связи с сыном, он на контракте. "
            "Куда обратиться, чтобы узнать, что с ним?",
        ),
        (
            "svo.veteran_status",
            "Вернулся после ранения. Как оформить удостоверение ветерана боевых действий?",
        ),
        (
            "svo.mobilized",
            "Брат мобилизован, ему положен отпуск, а его не отпускают. Куда можно написать?",
        ),
        (
            "svo.rehabilitation",
            "Муж после ранения, нужна путёвка в санаторий на реабилитацию. С чего начать?",
        ),
        (
            "svo.social_coordinator",
            "Как связаться с социальным координатором фонда «Защитники Отечества»? "
            "Нужна помощь с документами.",
        ),
        (
            "svo.humanitarian_aid",
            "Мы собрали гуманитарную помощь для бойцов. Куда её можно привезти в Иркутске?",
        ),
    ),
    "medicine": (
        (
            "medicine.appointment",
            "Не могу записаться к терапевту, в поликлинике нет талонов на две недели вперёд.",
        ),
        (
            "medicine.free_medicines",
            "В аптеке уже неделю нет льготного инсулина по рецепту. Где его получить?",
        ),
        (
            "medicine.ambulance",
            "Вызывали скорую пожилой маме, ехали полтора часа. Хочу пожаловаться.",
        ),
        (
            "medicine.oms_policy",
            "Как оформить полис ОМС новорождённому и прикрепить его к поликлинике?",
        ),
        (
            "medicine.disability_mse",
            "Инвалидность заканчивается через месяц, а направление на МСЭ врач не выдаёт.",
        ),
        (
            "medicine.dental",
            "В районной больнице нет стоматолога, у ребёнка болит зуб. Куда нам ехать?",
        ),
    ),
    "social": (
        (
            "social.child_benefits",
            "Не пришло единое пособие на ребёнка, в личном кабинете написано «отказ». Почему?",
        ),
        (
            "social.large_families",
            "Как получить удостоверение многодетной семьи? Третий ребёнок родился в марте.",
        ),
        ("social.pensions", "Почему мне не пересчитали пенсию после увольнения?"),
        (
            "social.utility_subsidies",
            "Перестали начислять субсидию на оплату коммунальных услуг, никто ничего не объяснил.",
        ),
        (
            "social.home_services",
            "Маме восемьдесят пять лет, живёт одна. Нужен социальный работник на дому.",
        ),
        (
            "social.disability_support",
            "Инвалиду второй группы уже три месяца не выдают кресло-коляску.",
        ),
    ),
    "housing": (
        (
            "housing.tko",
            "Третий день не вывозят мусор с контейнерной площадки, всё переполнено.",
        ),
        (
            "housing.heating",
            "В квартире второй день холодные батареи, а дома маленький ребёнок.",
        ),
        (
            "housing.water",
            "С утра во всём доме нет холодной воды, управляющая компания трубку не берёт.",
        ),
        ("housing.electricity", "На нашей улице с ночи нет света. Когда дадут?"),
        (
            "housing.recalculation",
            "Неделю не было горячей воды, а в квитанции начислили полностью. "
            "Как сделать перерасчёт?",
        ),
        (
            "housing.snow_ice",
            "Над входом в подъезд висят огромные сосульки, управляющая компания не убирает.",
        ),
        (
            "housing.management_company",
            "Управляющая компания месяц не реагирует на протечку крыши.",
        ),
    ),
    "transport": (
        (
            "transport.public_transport",
            "Утром автобус по нашему маршруту не вышел на рейс, люди час ждали на остановке.",
        ),
        (
            "transport.roads_repair",
            "На региональной дороге огромная яма, я пробил колесо. Кто отвечает за ремонт?",
        ),
        ("transport.travel_cards", "Как пенсионеру оформить социальную транспортную карту?"),
    ),
    "emergency": (
        (
            "emergency.wildfires",
            "Сильно пахнет дымом, говорят, горит лес недалеко от посёлка. Есть опасность?",
        ),
        ("emergency.flood", "Двор подтопило талыми водами, вода подходит к дому."),
    ),
    "psych": (
        (
            "psych.anxiety",
            "Мне очень тревожно последние недели, не могу спать. Можно поговорить с психологом?",
        ),
        (
            "psych.svo_families",
            "Муж вернулся с СВО, ему тяжело. Нужна помощь психолога для всей семьи.",
        ),
    ),
    "commercial": (
        ("commercial.banks", "Банк заблокировал карту и не объясняет причину."),
        (
            "commercial.pharmacies",
            "В аптеках района нет нужного лекарства. Где его можно найти?",
        ),
    ),
    "rights": (
        (
            "rights.fssp_debts",
            "Приставы списали деньги с карты, на которую приходит пенсия. Это законно?",
        ),
        ("rights.free_legal_aid", "Где можно получить бесплатную юридическую консультацию?"),
    ),
    "education": (
        (
            "education.kindergarten_queue",
            "Как узнать нашу очередь в детский сад? Стоим уже два года.",
        ),
        (
            "education.school_transport",
            "Школьный автобус не ходит вторую неделю, детям не на чем добираться до школы.",
        ),
    ),
    "environment": (
        (
            "environment.stray_animals",
            "Во дворе стая бездомных собак, бросаются на детей.",
        ),
        ("environment.illegal_dumps", "За гаражами устроили свалку. Куда об этом сообщить?"),
    ),
    "labour": (
        (
            "labour.wage_arrears",
            "Работодатель второй месяц не платит зарплату. Куда жаловаться?",
        ),
        ("labour.unemployment", "Меня сократили. Как встать на учёт в центр занятости?"),
    ),
    "communications": (
        (
            "communications.mobile_coverage",
            "В нашей деревне совсем нет мобильной связи, даже скорую не вызвать.",
        ),
        ("communications.village_internet", "Когда в наш посёлок проведут интернет?"),
    ),
    "local_gov": (
        (
            "local_gov.street_lighting",
            "На улице месяц не горят фонари, вечером темно и опасно.",
        ),
        ("local_gov.land_plots", "Как многодетной семье получить земельный участок?"),
    ),
    "culture": (
        ("culture.pushkin_card", "Как оформить Пушкинскую карту школьнику?"),
        ("culture.sport_sections", "Где в районе есть бесплатные спортивные секции для детей?"),
    ),
    "business": (
        (
            "business.self_employed",
            "Как зарегистрироваться самозанятым и какой налог придётся платить?",
        ),
        ("business.sme", "Какие гранты есть для малого бизнеса в области?"),
    ),
    "mfc": (
        (
            "mfc.service_status",
            "Сдавал документы в МФЦ две недели назад. Как узнать, готовы ли они?",
        ),
        ("mfc.appointment", "Как записаться на приём в МФЦ на ближайшую неделю?"),
    ),
}

GREETINGS = ("Здравствуйте.", "Добрый день.", "Алло, здравствуйте.", "")
CLOSINGS = ("Прошу помочь.", "Заранее спасибо.", "Жду ответа.", "Прошу разобраться.", "")

#: Irkutsk region area codes (Irkutsk first: most calls) and mobile prefixes
AREA_CODES: tuple[tuple[str, float], ...] = (
    ("3952", 60),  # Иркутск
    ("3955", 8),  # Ангарск
    ("3953", 8),  # Братск
    ("39543", 4),  # Усолье-Сибирское
    ("39550", 3),  # Шелехов
    ("39546", 3),  # Черемхово
    ("39535", 3),  # Усть-Илимск
    ("39530", 3),  # Тулун
    ("39563", 3),  # Тайшет
    ("39561", 2),  # Бодайбо
    ("39568", 1),  # Киренск
    ("39569", 1),  # Мама
    ("39560", 1),  # Ербогачён
)
MOBILE_PREFIXES = ("902", "904", "908", "914", "924", "950", "952", "964", "983", "999")
MOBILE_SHARE = 0.65
LOGINS = (
    "ivanova",
    "petrov",
    "smirnova",
    "kuznetsov",
    "sergey",
    "olga",
    "natalia",
    "andrey",
    "elena",
    "dmitry",
    "irina",
    "baikal",
    "sibir",
)
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "bk.ru", "inbox.ru", "gmail.com", "list.ru")

CHANNEL_LABELS = {
    Channel.phone: "звонок",
    Channel.social: "соцсети",
    Channel.pos: "ПОС",
    Channel.governor_chat: "чат губернатора",
    Channel.web_chat: "чат сайта",
    Channel.email: "e-mail",
    Channel.video: "видео",
}
